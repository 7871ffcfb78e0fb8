/**
 * A burst of no-op submits, then whenIdle(): when the runtime went idle (nothing queued or
 * running) and when whenIdle() resolved, which is once the ends that made it idle are
 * stored. Between the two the store writes what the burst left behind: the rows of the
 * submits, sealed a thousand to a transaction, come after the tasks ran. `:memory:` and a
 * file, 2 threads.
 *
 *   node dist/bench/diagnostics/burst-idle.js [tasks] [rounds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TaskRuntime } from '../../src/index.js';

const tasks = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
const handlers = new URL('../handlers.js', import.meta.url);

for (const where of ['memory', 'file'] as const) {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-burst-'));
  const rt = await TaskRuntime.open({ handlers, concurrency: 2, database: where === 'memory' ? ':memory:' : join(dir, 'tasks.db') });
  const rows: string[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = performance.now();
    // The moment the last task ended, in memory: metrics() counts ends as they happen,
    // without a read of the store. Looked at once per turn of the event loop.
    const target = (rt.metrics().types.noop?.completed ?? 0) + tasks;
    let idleAt = 0;
    const handles = [];
    for (let i = 0; i < tasks; i++) handles.push(rt.submit('noop'));
    const ran = Promise.all(handles).then(() => undefined);
    const look = (): void => {
      if ((rt.metrics().types.noop?.completed ?? 0) >= target) idleAt = performance.now();
      else setImmediate(look);
    };
    setImmediate(look);
    await rt.whenIdle();
    const storedAt = performance.now();
    await ran;
    if (round > 0) rows.push(`idle ${Math.round(idleAt - start)} ms, stored ${Math.round(storedAt - start)} ms (${Math.round(tasks / ((storedAt - start) / 1000))} tasks/s)`);
  }
  console.log(`${where}: ${tasks} no-op submits, then whenIdle()\n  ${rows.join('\n  ')}`);
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
}
