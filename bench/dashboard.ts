/// <reference lib="dom" />
/**
 * The dashboard's speed on a big database, and what an open one costs a busy runtime.
 *
 *   node dist/bench/dashboard.js [--tasks N] [--queued Q] [--rounds R] [--json FILE]   (after npm run build)
 *
 * 1. Builds a SQLite file of N tasks (default 1,000,000) through the store's own write path,
 *    in large batches: mostly finished history, Q queued (due tomorrow, so a runtime opened
 *    on the file runs none of them and every round sees the same file) and Q/5 paused.
 * 2. First paint of the overview in headless Chromium (Debian's, via playwright-core), from
 *    page.goto to the count cards showing the total; and the time of GET /api/overview.
 *    Each round on a dashboard just opened (nothing cached yet), on a read-only inspector,
 *    then on a live runtime opened on the file.
 * 3. GET /api/tasks at that size: first page, a page 10,000 rows deep (200 cursors
 *    followed), a status, a type and a text filter.
 * 4. No-op tasks/s of a runtime, 2 threads, without a dashboard, with one open and no page,
 *    and with a page on its overview (live updates flowing), in turns: on a fresh file, then on a
 *    copy of the big one (the overview the page re-reads counts the whole store).
 *
 * Times are medians (min-max) of R rounds, wall clock as a client sees them (fetch, or the
 * page); the browser runs on the same machine as the runtime, as it would on a laptop.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serialize } from 'node:v8';
import { chromium, type Browser } from 'playwright-core';
import { openInspector, TaskRuntime, type Dashboard } from 'offthread';
import { EncodedValue } from '../src/store/encoded.js';
import { SqliteTaskStore } from '../src/store/sqlite-store.js';
import type { NewTaskRecord, TaskPatch, WriteBatch } from '../src/store/task-store.js';
import type { Priority, TaskStatus } from '../src/types.js';
import { HANDLERS } from './contenders.js';
import { summarize, type Metric } from './lib/stats.js';
import { eachAtOnce } from './lib/submit-mode.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000000' },
    queued: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const TASKS = Number(values.tasks);
const QUEUED = Math.min(Number(values.queued), Math.floor(TASKS / 10));
const PAUSED = Math.floor(QUEUED / 5);
const ROUNDS = Number(values.rounds);
const BATCH = 10_000;
const OVERHEAD_TASKS = 20_000;
const THREADS = 2;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** One task in NIGHTLY is named "nightly export ...": a text filter that has to scan. */
const NIGHTLY = 200;
const TYPES = ['noop', 'work', 'progressFlood', 'checkpointing'];
const NAMES = ['invoice', 'thumbnail', 'import customers', 'weekly report'];
const PRIORITY_CYCLE: Priority[] = ['normal', 'normal', 'low', 'normal', 'high', 'normal', 'low'];

const log = (line: string) => console.error(line);
const dir = mkdtempSync(join(tmpdir(), 'offthread-bench-dashboard-'));
const file = join(dir, 'million.db');
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
};

/** Which status row `seq` has: the newest rows are the unfinished ones, as in a live queue. */
function statusOf(seq: number): TaskStatus {
  const fromEnd = TASKS - seq;
  if (fromEnd < PAUSED) return 'paused';
  if (fromEnd < PAUSED + QUEUED) return 'queued';
  const r = seq % 100;
  return r < 82 ? 'completed' : r < 94 ? 'failed' : 'cancelled';
}

function batchOf(first: number, last: number, now: number, due: number): WriteBatch {
  const batch: WriteBatch = { inserts: [], payloads: [], changes: [], patches: new Map(), events: [] };
  for (let seq = first; seq <= last; seq++) {
    // 50 ms apart, the newest just now: the overview's chart has its last hour to draw.
    const createdAt = now - (TASKS - seq) * 50;
    const status = statusOf(seq);
    const name = seq % NIGHTLY === 0 ? `nightly export ${seq}` : seq % 3 === 0 ? null : `${NAMES[seq % NAMES.length]} ${seq}`;
    const record: NewTaskRecord = {
      seq, id: `task-${String(seq).padStart(8, '0')}`, type: TYPES[seq % TYPES.length]!, name, description: null,
      priority: PRIORITY_CYCLE[seq % PRIORITY_CYCLE.length]!, createdAt, runAt: status === 'queued' ? due : null,
      timeoutMs: null, retries: 0, backoff: null, key: null, dependsOn: [], onParentFailure: null, group: null,
    };
    let changes: TaskPatch | undefined;
    if (status === 'paused') changes = { status, updatedAt: createdAt };
    else if (status !== 'queued') {
      const ended = { startedAt: createdAt + 5, completedAt: createdAt + 40, attempts: 1, updatedAt: createdAt + 40 };
      if (status === 'completed') changes = { status, progress: 100, result: new EncodedValue(serialize({ rows: seq % 997 })), ...ended };
      else if (status === 'failed') changes = { status, error: { code: 'ERR_HANDLER', message: `row ${seq % 997} did not parse` }, ...ended };
      else changes = { status, error: { code: 'ERR_CANCELLED', message: 'Cancelled.' }, ...ended };
    }
    batch.inserts.push(record);
    batch.payloads.push(new EncodedValue(serialize({ n: seq, source: `s3://bucket/in/${seq}.csv` })));
    batch.changes.push(changes);
  }
  return batch;
}

async function buildFile(): Promise<number> {
  const store = SqliteTaskStore.open(file);
  const start = performance.now();
  try {
    const now = Date.now();
    const due = now + 86_400_000;
    for (let first = 1; first <= TASKS; first += BATCH) {
      await store.commit(batchOf(first, Math.min(TASKS, first + BATCH - 1), now, due));
      if ((first - 1) % 200_000 === 0 && first > 1) log(`  built ${first - 1} tasks`);
    }
  } finally {
    await store.close();
  }
  return performance.now() - start;
}

/** A fetch timed from the request to the last byte of a 200 answer. */
async function timeGet<T>(url: string): Promise<[T, number]> {
  return timed(async () => {
    const res = await fetch(url);
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  });
}

async function firstPaint(browser: Browser, url: string): Promise<number> {
  const page = await browser.newPage();
  page.setDefaultTimeout(120_000);
  try {
    const [, ms] = await timed(async () => {
      await page.goto(url);
      await page.waitForFunction((total) => document.querySelector('[data-count="total"]')?.textContent === total, String(TASKS));
    });
    return ms;
  } finally {
    await page.close();
  }
}

interface PaintFigures {
  overview: Metric;
  paint: Metric;
}

/** Each round on dashboards just opened: the first visitor's view, no chart cached yet. */
async function measurePaint(browser: Browser, open: () => Promise<Dashboard>, label: string): Promise<PaintFigures> {
  const overview: number[] = [];
  const paint: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    let dashboard = await open();
    try {
      const [body, ms] = await timeGet<{ stats: { total: number } }>(`${dashboard.url}api/overview`);
      if (body.stats.total !== TASKS) throw new Error(`the overview counts ${body.stats.total} tasks, expected ${TASKS}`);
      overview.push(ms);
    } finally {
      await dashboard.close();
    }
    dashboard = await open();
    try {
      paint.push(await firstPaint(browser, dashboard.url));
    } finally {
      await dashboard.close();
    }
    log(`  ${label} round ${round}/${ROUNDS}: /api/overview ${overview.at(-1)!.toFixed(0)} ms, first paint ${paint.at(-1)!.toFixed(0)} ms`);
  }
  return { overview: summarize(overview), paint: summarize(paint) };
}

type Page = { tasks: Array<{ id: string }>; next: string | null };

async function measureLists(base: string): Promise<Record<string, { ms: Metric; rows: number }>> {
  const queries: Record<string, string> = {
    'first page (limit=50)': 'limit=50',
    'status=failed': 'status=failed&limit=50',
    'type=work': 'type=work&limit=50',
    'status=failed&type=work&priority=high': 'status=failed&type=work&priority=high&limit=50',
    [`q=nightly (1 task in ${NIGHTLY}: a page fills up)`]: 'q=nightly&limit=50',
    'q=zzz (no match: one whole slice of 50,000 rows)': 'q=zzz&limit=50',
    'q=task-00001234 (an id deep in the list, by the id index)': 'q=task-00001234&limit=50',
  };
  const times: Record<string, number[]> = {};
  const rows: Record<string, number> = {};
  const deep = 'page 201 (after 10,000 rows, by cursor)';
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [label, query] of Object.entries(queries)) {
      const [page, ms] = await timeGet<Page>(`${base}api/tasks?${query}`);
      (times[label] ??= []).push(ms);
      rows[label] = page.tasks.length;
    }
    let cursor: string | null = null;
    let last = 0;
    let lastRows = 0;
    for (let i = 0; i <= 200; i++) {
      const query: string = cursor === null ? 'limit=50' : `limit=50&cursor=${encodeURIComponent(cursor)}`;
      const [page, ms] = await timeGet<Page>(`${base}api/tasks?${query}`);
      cursor = page.next;
      last = ms;
      lastRows = page.tasks.length;
      if (cursor === null) break;
    }
    (times[deep] ??= []).push(last);
    rows[deep] = lastRows;
    log(`  lists round ${round}/${ROUNDS}: ${Object.entries(times).map(([k, xs]) => `${k.split(' ')[0]} ${xs.at(-1)!.toFixed(1)}`).join(', ')} ms`);
  }
  return Object.fromEntries(Object.entries(times).map(([label, xs]) => [label, { ms: summarize(xs), rows: rows[label]! }]));
}

interface OverheadRound {
  whenIdle: number;
  each: number;
}

/** Without a dashboard; with one open and no page (its events$ subscription alone); with a page on the overview. */
const SIDES = ['without', 'dashboard', 'page'] as const;
type Side = (typeof SIDES)[number];

/** One round on a fresh file, or on a copy of `seed` (`tasks` tasks): both workloads, tasks/s. */
async function overheadRound(side: Side, browser: Browser, seed?: { file: string; tasks: number }): Promise<OverheadRound> {
  const roundDir = mkdtempSync(join(tmpdir(), 'offthread-bench-dashboard-rt-'));
  const database = join(roundDir, 'tasks.db');
  if (seed !== undefined) copyFileSync(seed.file, database);
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database, concurrency: THREADS });
  let dashboard: Dashboard | undefined;
  const page = side === 'page' ? await browser.newPage() : undefined;
  try {
    // Its queued tasks are due tomorrow: whenIdle() would wait for them.
    if (seed !== undefined) await rt.cancelMany({ status: 'queued' });
    // Warm up as the overhead scenario does: threads started, the module loaded.
    await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
    await rt.whenIdle();
    if (side !== 'without') dashboard = await rt.dashboard();
    if (page !== undefined) {
      await page.goto(dashboard!.url);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
    }
    const [, idleMs] = await timed(async () => {
      const submits = new Array<Promise<unknown>>(OVERHEAD_TASKS);
      for (let i = 0; i < OVERHEAD_TASKS; i++) submits[i] = rt.submit('noop');
      await Promise.all(submits);
      await rt.whenIdle();
    });
    const [, eachMs] = await timed(() => eachAtOnce(OVERHEAD_TASKS, async () => (await rt.submit('noop')).result()));
    if (page !== undefined) {
      // The page followed the run: its counts show every task (a dead stream would not).
      const total = String((seed?.tasks ?? 0) + 200 + 2 * OVERHEAD_TASKS);
      await page.waitForFunction((t) => document.querySelector('[data-count="total"]')?.textContent === t, total, { timeout: 10_000 });
    }
    return { whenIdle: OVERHEAD_TASKS / (idleMs / 1000), each: OVERHEAD_TASKS / (eachMs / 1000) };
  } finally {
    await page?.close();
    await dashboard?.close();
    await rt.close();
    rmSync(roundDir, { recursive: true, force: true });
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) }).trim();
  } catch {
    return 'unknown';
  }
}

const fmt = (m: Metric, digits = 0) => `${m.median.toFixed(digits)} (${m.min.toFixed(digits)}-${m.max.toFixed(digits)})`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const machine = {
  cpus: cpus().length,
  model: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  commit: gitCommit(),
  loadBefore: load(),
  loadAfter: '',
};
let browser: Browser | undefined;
try {
  log(`building ${TASKS} tasks (${QUEUED} queued, ${PAUSED} paused) in ${file}`);
  const buildMs = await buildFile();
  log(`  built in ${(buildMs / 1000).toFixed(1)} s`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const b = browser;

  const inspector = await openInspector(file);
  let readOnly: PaintFigures;
  let lists: Awaited<ReturnType<typeof measureLists>>;
  try {
    readOnly = await measurePaint(b, () => inspector.dashboard(), 'read-only');
    const dashboard = await inspector.dashboard();
    try {
      lists = await measureLists(dashboard.url);
    } finally {
      await dashboard.close();
    }
  } finally {
    await inspector.close();
  }

  log(`opening a runtime on the file`);
  const [rt, openMs] = await timed(() => TaskRuntime.open({ handlers: HANDLERS, database: file, concurrency: THREADS }));
  let live: PaintFigures;
  try {
    live = await measurePaint(b, () => rt.dashboard(), 'live');
  } finally {
    await rt.close();
  }

  // The page re-reads the overview (counts of the whole store) on every change, up to 4 times
  // a second: on a big store that read is the cost, so the runtime runs on a copy of it too.
  const overhead = [];
  for (const seed of [undefined, { file, tasks: TASKS }]) {
    const where = seed === undefined ? 'a fresh file' : `a copy of the ${TASKS}-task file`;
    const rounds: Record<Side, OverheadRound[]> = { without: [], dashboard: [], page: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      const parts = [];
      for (const side of SIDES) {
        const r = await overheadRound(side, b, seed);
        rounds[side].push(r);
        parts.push(`${side} ${Math.round(r.whenIdle)}/s, ${Math.round(r.each)}/s`);
      }
      log(`  overhead on ${where}, round ${round}/${ROUNDS}: ${parts.join('; ')}`);
    }
    for (const key of ['whenIdle', 'each'] as const) {
      const [without, dashboard, page] = SIDES.map((side) => summarize(rounds[side].map((x) => x[key])));
      overhead.push({ where, key, without: without!, dashboard: dashboard!, page: page!, ratio: page!.median / without!.median });
    }
  }
  machine.loadAfter = load();
  const results = { machine, tasks: TASKS, queued: QUEUED, paused: PAUSED, rounds: ROUNDS, buildMs, runtimeOpenMs: openMs, readOnly, live, lists, overhead };

  const out = [
    `## Dashboard with ${TASKS.toLocaleString('en-US')} tasks`,
    '',
    `${machine.cpus} × ${machine.model}, Node ${machine.node}, commit ${machine.commit}; load average ${machine.loadBefore} before, ${machine.loadAfter} after. ` +
      `${ROUNDS} rounds; medians (min-max).`,
    '',
    `Built the file (${QUEUED} queued, ${PAUSED} paused, the rest finished) in ${(buildMs / 1000).toFixed(1)} s, batches of ${BATCH} through SqliteTaskStore.commit; ` +
      `a runtime opened on it in ${openMs.toFixed(0)} ms.`,
    '',
    '| Overview, on a dashboard just opened | read-only (inspector), ms | live runtime, ms |',
    '| --- | --- | --- |',
    `| GET /api/overview | ${fmt(readOnly.overview)} | ${fmt(live.overview)} |`,
    `| first paint (goto to the counts shown) | ${fmt(readOnly.paint)} | ${fmt(live.paint)} |`,
    '',
    '| GET /api/tasks (read-only) | rows | ms |',
    '| --- | --- | --- |',
    ...Object.entries(lists).map(([label, { ms, rows }]) => `| ${label} | ${rows} | ${fmt(ms, 1)} |`),
    '',
    `| ${OVERHEAD_TASKS} no-op tasks, ${THREADS} threads | on | without a dashboard, tasks/s | a dashboard, no page, tasks/s | a page on its overview, tasks/s | page / without, medians |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...overhead.map(
      (o) =>
        `| ${o.key === 'whenIdle' ? 'submit() each, then whenIdle()' : 'submit() + await result(), all at once'} | ${o.where} | ${fmt(o.without)} | ${fmt(o.dashboard)} | ${fmt(o.page)} | ${o.ratio.toFixed(2)} |`,
    ),
    '',
    `Overhead rounds take the three sides in turn; the browser shares the machine's ${machine.cpus} cores.`,
  ];
  console.log(out.join('\n'));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
}
