/**
 * How fast a host is back at work after a restart with a large queue in its file: the time
 * from calling TaskRuntime.open() to open() resolving, to the first task started, and to
 * every unfinished row loaded, and the event loop's delay (p99, max) until the last row is
 * loaded, from the open call and from open() resolving (the threads' start excluded), while
 * the no-op tasks run on 2 threads; and the delay over the first 10 s of that flow, loading
 * or not (what the flow costs the loop by itself, to compare builds).
 *
 *   node dist/bench/diagnostics/restart.js [COUNT=1000000] [ROUNDS=3]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/diagnostics/restart.js 1000000 1
 *
 * The file of COUNT queued tasks (20% high, 50% normal, 30% low, in a fixed random order)
 * is written by a host whose one thread is held by a low-priority `checkpointing` task
 * (interrupted at close, so queued too), so none of them runs. It takes a while to build, so it is built
 * once and kept in the OS temp folder, under a name holding the schema version and
 * BUILD_VERSION (change it when the file should be built again); each round reopens a copy.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { TaskRuntime, type Priority } from 'offthread';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { HANDLERS } from '../contenders.js';

const BUILD_VERSION = 1;
const WINDOW_MS = 10_000;
const count = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 3);
const log = (line: string) => process.stderr.write(`restart: ${line}\n`);

interface Built {
  /** The task that should start first: the first high-priority one submitted. */
  first: string;
}

/** A fixed sequence of priorities (a small LCG), so every build holds the same queue. */
function priorities(n: number): Priority[] {
  const out: Priority[] = new Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const r = x / 2 ** 31;
    out[i] = r < 0.2 ? 'high' : r < 0.7 ? 'normal' : 'low';
  }
  return out;
}

async function build(file: string): Promise<Built> {
  const partial = `${file}.building`;
  rmSync(partial, { force: true });
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: partial, concurrency: 1 });
  // Subscribed before the submit: a start nobody listens for is not told.
  const started = new Promise<void>((resolve) => {
    const sub = rt.events$.subscribe((e) => e.type === 'started' && (sub.unsubscribe(), resolve()));
  });
  await rt.submit('checkpointing', undefined, { priority: 'low' });
  await started;
  const all = priorities(count);
  const CHUNK = 10_000;
  let first: string | undefined;
  const t0 = performance.now();
  for (let done = 0; done < count; done += CHUNK) {
    const items = all.slice(done, done + CHUNK).map((priority, i) => ({ type: 'noop', payload: done + i, options: { priority } }));
    const handles = await rt.submitMany(items);
    first ??= handles.find((_, i) => items[i]!.options.priority === 'high')?.id;
    if ((done + CHUNK) % 100_000 === 0) log(`built ${done + CHUNK}/${count} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  await rt.close({ graceful: false });
  renameSync(partial, file);
  for (const suffix of ['-wal', '-shm', '.lock']) rmSync(`${partial}${suffix}`, { force: true });
  const built = { first: first! };
  writeFileSync(`${file}.json`, JSON.stringify(built));
  return built;
}

async function queueFile(): Promise<{ file: string; built: Built }> {
  const file = join(tmpdir(), `offthread-restart-v${BUILD_VERSION}-schema${SCHEMA_VERSION}-${count}.db`);
  if (existsSync(file) && existsSync(`${file}.json`)) return { file, built: JSON.parse(readFileSync(`${file}.json`, 'utf8')) as Built };
  log(`building ${file} (once)`);
  return { file, built: await build(file) };
}

/** Resolves once the runtime holds every unfinished row (at open() for a runtime that loads them all before it resolves). */
function loaded(rt: TaskRuntime): Promise<void> {
  const owner = (rt as unknown as { tasks: { loaded?(): Promise<void> } }).tasks;
  return owner.loaded?.() ?? Promise.resolve();
}

async function round(source: string, built: Built): Promise<Record<string, number | boolean>> {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-restart-run-'));
  const database = join(dir, 'queue.db');
  copyFileSync(source, database);
  try {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const openedAt = Date.now();
    const t0 = performance.now();
    const rt = await TaskRuntime.open({ handlers: HANDLERS, database, concurrency: 2 });
    const openMs = performance.now() - t0;
    // The load proper: from open() resolving, when the threads are up and the first rows in.
    const during = monitorEventLoopDelay({ resolution: 1 });
    during.enable();
    // The same for the first WINDOW_MS of the flow, whether rows still load then or not: the
    // flow's own delay, to tell what the load adds.
    const window = monitorEventLoopDelay({ resolution: 1 });
    window.enable();
    const windowDone = new Promise<void>((resolve) => setTimeout(() => (window.disable(), resolve()), WINDOW_MS));
    const firstStart = new Promise<{ at: number; id: string }>((resolve) => {
      const sub = rt.events$.subscribe((e) => e.type === 'started' && (sub.unsubscribe(), resolve({ at: e.at, id: e.taskId })));
    });
    await loaded(rt);
    const loadedMs = performance.now() - t0;
    delay.disable();
    during.disable();
    const first = await firstStart;
    await windowDone;
    await rt.close({ graceful: false });
    return {
      openMs,
      firstStartMs: first.at - openedAt,
      loadedMs,
      p99Ms: delay.percentile(99) / 1e6,
      maxMs: delay.max / 1e6,
      p99AfterOpenMs: during.count > 0 ? during.percentile(99) / 1e6 : 0,
      maxAfterOpenMs: during.count > 0 ? during.max / 1e6 : 0,
      p99WindowMs: window.percentile(99) / 1e6,
      firstIsHighest: first.id === built.first,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { file, built } = await queueFile();
const results: Record<string, number | boolean>[] = [];
for (let i = 1; i <= rounds; i++) {
  const r = await round(file, built);
  results.push(r);
  const ms = (key: string) => (r[key] as number).toFixed(key.startsWith('p9') || key.startsWith('max') ? 1 : 0);
  log(
    `round ${i}/${rounds}: open() ${ms('openMs')} ms, first started ${ms('firstStartMs')} ms (the highest: ${r.firstIsHighest}), ` +
      `all loaded ${ms('loadedMs')} ms; event loop from the open() call p99 ${ms('p99Ms')} ms, max ${ms('maxMs')} ms, ` +
      `from open() resolving p99 ${ms('p99AfterOpenMs')} ms, max ${ms('maxAfterOpenMs')} ms; ` +
      `the first ${WINDOW_MS / 1000} s of the flow p99 ${ms('p99WindowMs')} ms`,
  );
}
process.stdout.write(`${JSON.stringify({ count, results })}\n`);
