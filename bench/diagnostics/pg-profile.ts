/**
 * One host on a PostgreSQL queue: no-op tasks submitted at once, each result awaited;
 * prints tasks/s. Run under `node --cpu-prof` to see where the host's time goes.
 *
 *   node dist/bench/diagnostics/pg-profile.js [count] [noop|cpu] [niceIncrement]
 */
import pg from 'pg';
import { TaskRuntime } from 'offthread';
import { startPostgres } from '../lib/postgres-server.js';
import { processCpuMs, treeCpuMs } from '../lib/process-cpu.js';

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
const stats = new pg.Client({ connectionString: db.url });
await stats.connect();
/** Transactions committed in the database so far (statements that commit by themselves count one each). */
const commits = async (): Promise<number> =>
  Number((await stats.query('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()')).rows[0].xact_commit);
for (let round = 0; round < 3; round++) {
  const commitsBefore = await commits();
  // CPU of the host's process (main thread and worker threads) and of the server's processes.
  const hostBefore = processCpuMs(process.pid) ?? 0;
  const serverBefore = treeCpuMs(server.pid) ?? 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: count }, async () => (await runtime.submit(item().type, item().payload)).result()));
  const s = (performance.now() - start) / 1000;
  const hostMs = (processCpuMs(process.pid) ?? 0) - hostBefore;
  const serverMs = (treeCpuMs(server.pid) ?? 0) - serverBefore;
  console.log(
    `submit each: ${Math.round(count / s)} tasks/s; CPU per task: host ${((hostMs / count) * 1000).toFixed(0)} us (threads included), server ${((serverMs / count) * 1000).toFixed(0)} us; ${((await commits()) - commitsBefore) / count} transactions per task`,
  );
  const start2 = performance.now();
  const handles = await runtime.submitMany(Array.from({ length: count }, item));
  await Promise.all(handles.map((h) => h.result()));
  console.log(`submitMany: ${Math.round(count / ((performance.now() - start2) / 1000))} tasks/s`);
}
await stats.end();
await runtime.close();
await db.drop();
await server.stop();
