/**
 * One host on a PostgreSQL queue: no-op tasks submitted at once, each result awaited;
 * prints tasks/s. Run under `node --cpu-prof` to see where the host's time goes.
 *
 *   node dist/bench/diagnostics/pg-profile.js [count] [noop|cpu] [niceIncrement]
 */
import { TaskRuntime } from 'offthread';
import { startPostgres } from '../lib/postgres-server.js';

const count = Number(process.argv[2] ?? 20_000);
/** 'cpu': ~4.5 ms of work a task (bench/lib/work.ts), else no-ops. */
const kind = process.argv[3] === 'cpu' ? 'cpu' : 'noop';
const niceIncrement = Number(process.argv[4] ?? 10);
const item = () => (kind === 'cpu' ? { type: 'work', payload: 'cpu' } : { type: 'noop' });
const server = await startPostgres();
const db = await server.freshDatabase();
const runtime = await TaskRuntime.open({ handlers: new URL('../workers/shared-queue-handlers.js', import.meta.url), database: db.url, concurrency: 2, niceIncrement });
const warm = await runtime.submitMany(Array.from({ length: 500 }, () => ({ type: 'noop' })));
await Promise.all(warm.map((h) => h.result()));
for (let round = 0; round < 3; round++) {
  const start = performance.now();
  await Promise.all(Array.from({ length: count }, async () => (await runtime.submit(item().type, item().payload)).result()));
  const s = (performance.now() - start) / 1000;
  console.log(`submit each: ${Math.round(count / s)} tasks/s`);
  const start2 = performance.now();
  const handles = await runtime.submitMany(Array.from({ length: count }, item));
  await Promise.all(handles.map((h) => h.result()));
  console.log(`submitMany: ${Math.round(count / ((performance.now() - start2) / 1000))} tasks/s`);
}
await runtime.close();
await db.drop();
await server.stop();
