/** The dashboard's style sheet. */
export const STYLE_CSS = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --bg: #f6f7f9; --card: #fff; --line: #dde1e7; --accent: #3559c7;
  --queued: #8a6d00; --running: #1f6fd1; --paused: #8250df; --completed: #1a7f37; --failed: #cf222e; --cancelled: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ee; --muted: #9aa3b5; --bg: #14171d; --card: #1c2029; --line: #2e3440; --accent: #7d9bff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.2rem; align-items: center; padding: .6rem 1.2rem; background: var(--card); border-bottom: 1px solid var(--line); }
header nav { display: flex; gap: .9rem; }
header a { color: var(--fg); text-decoration: none; }
header a.current { color: var(--accent); font-weight: 600; }
#database { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; margin-left: auto; }
#mode.readonly { background: #fff3c4; color: #6b5300; padding: .1rem .5rem; border-radius: 4px; font-weight: 600; }
#live { color: var(--muted); }
#live.on { color: var(--completed); }
main { padding: 1rem 1.2rem 3rem; max-width: 1300px; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
a { color: var(--accent); }
.muted { color: var(--muted); }
#notice { margin: .8rem 1.2rem 0; padding: .5rem .8rem; border-radius: 6px; background: #e7f0ff; color: #123; }
#notice.error { background: #ffe4e4; color: #611; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: .7rem; }
.count { display: block; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; text-decoration: none; color: var(--fg); }
.count .n { display: block; font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.count .label { color: var(--muted); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id, .mono { font-family: ui-monospace, monospace; font-size: 12px; }
td.name { max-width: 22rem; overflow-wrap: anywhere; }
.status { font-weight: 600; }
.status-queued { color: var(--queued); } .status-running { color: var(--running); } .status-paused { color: var(--paused); }
.status-completed { color: var(--completed); } .status-failed { color: var(--failed); } .status-cancelled { color: var(--cancelled); }
progress { width: 10rem; vertical-align: middle; }
button, select, input { font: inherit; }
button { padding: .2rem .7rem; border: 1px solid var(--line); border-radius: 5px; background: var(--card); color: var(--fg); cursor: pointer; }
button:hover { border-color: var(--accent); }
button.danger { color: var(--failed); }
.actions { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .6rem 0 1rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: .8rem; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: .15rem; }
.pager { display: flex; gap: 1rem; margin-top: .7rem; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.2rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .7rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline li { padding: .25rem 0; border-bottom: 1px dashed var(--line); }
ol.timeline time { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; margin-right: .6rem; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 1.2rem; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
#chart { min-height: 220px; }
`;
