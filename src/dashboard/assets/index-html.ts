/** The one page every route serves; the script draws the view the path names. No inline code (the CSP forbids it). */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>offthread dashboard</title>
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/assets/style.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header>
  <strong class="brand">offthread</strong>
  <nav>
    <a href="/" data-nav="overview">Overview</a>
    <a href="/tasks" data-nav="tasks">Tasks</a>
    <a href="/schedules" data-nav="schedules">Schedules</a>
  </nav>
  <span id="database"></span>
  <span id="mode"></span>
  <span id="live" title="live updates">●</span>
</header>
<div id="notice" role="status" hidden></div>
<main id="main"><p class="muted">Loading…</p></main>
</body>
</html>
`;
