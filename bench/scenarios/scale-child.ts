/**
 * node --expose-gc dist/bench/scenarios/scale-child.js [COUNT]: the scale scenario's own
 * process (run by scale.ts), so global.gc exists and the heap holds nothing but this runtime.
 *
 * What keeps anything from running while COUNT tasks are queued: concurrency 1, and the
 * first task is a `checkpointing` one that never ends by itself. Once it has started, every
 * later task stays queued. The run then closes without grace (the blocker is interrupted and
 * re-queued, as after a restart), reopens the same file, and times the first 'started' (the
 * re-queued blocker, first in priority order). Writes one JSON line to stdout; progress to stderr.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';
import { eventWaiter } from '../lib/events.js';
import { collectGarbage, summarize } from '../lib/stats.js';

const total = Number(process.argv[2] ?? 1_000_000);
const CHUNK = 10_000;
const log = (line: string) => process.stderr.write(`scale: ${line}\n`);

function heap(): number {
  collectGarbage();
  collectGarbage(); // the second pass frees what the first one's finalizers released
  return process.memoryUsage().heapUsed;
}

const dir = mkdtempSync(join(tmpdir(), 'offthread-bench-scale-'));
const database = join(dir, 'scale.db');
try {
  const options = { handlers: HANDLERS, database, concurrency: 1 };
  const rt = await TaskRuntime.open(options);
  const events = eventWaiter(rt, ['started']);
  const blocker = await rt.submit('checkpointing');
  await events.when(blocker.id, 'started');
  events.stop();

  const heapBefore = heap();
  const items = Array.from({ length: CHUNK }, () => ({ type: 'noop' }));
  const t0 = performance.now();
  for (let done = 0; done < total; done += CHUNK) {
    await rt.submitMany(done + CHUNK <= total ? items : items.slice(0, total - done));
    if ((done + CHUNK) % 100_000 === 0) log(`${done + CHUNK}/${total} submitted (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const submitSeconds = (performance.now() - t0) / 1000;
  const heapAfter = heap();
  const queued = (await rt.stats()).queued;

  const listMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const page = await rt.list({ status: 'queued', limit: 100 });
    listMs.push(performance.now() - start);
    if (page.length !== 100) throw new Error(`list returned ${page.length} tasks, expected 100`);
  }

  const closeStart = performance.now();
  await rt.close({ graceful: false });
  const closeMs = performance.now() - closeStart;
  const dbBytes = statSync(database).size + (statSync(`${database}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  log(`closed; reopening ${database}`);

  const heapBeforeReopen = heap();
  const openedAt = Date.now();
  const openStart = performance.now();
  const rt2 = await TaskRuntime.open(options);
  const openMs = performance.now() - openStart;
  // The first task may have started inside open(): take the earliest of its startedAt and the event.
  const firstStart = await new Promise<number>((resolve) => {
    const sub = rt2.events$.subscribe((e) => e.type === 'started' && (sub.unsubscribe(), resolve(e.at)));
    void rt2.list({ status: 'running', limit: 1 }).then(([task]) => task?.startedAt != null && (sub.unsubscribe(), resolve(task.startedAt)));
  });
  // The rest of the queue loads while the first task runs: the heap is measured once all of
  // it is held (an internal promise: nothing public waits for the load while a task runs).
  await (rt2 as unknown as { tasks: { loaded?(): Promise<void> } }).tasks.loaded?.();
  const heapAfterReopen = heap();
  const queuedAfterReopen = (await rt2.stats()).queued;
  await rt2.close({ graceful: false });

  const result = {
    total,
    queued,
    queuedAfterReopen,
    submitRate: total / submitSeconds,
    heapPerTask: (heapAfter - heapBefore) / total,
    heapPerTaskAfterReopen: (heapAfterReopen - heapBeforeReopen) / total,
    list: summarize(listMs),
    closeMs,
    openMs,
    firstDispatchMs: firstStart - openedAt,
    dbMB: dbBytes / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
