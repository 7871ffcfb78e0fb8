/**
 * `ctx.emit` -> `output$` on a PostgreSQL queue, across two hosts: a host process runs the
 * handler (one thread), which emits as fast as it can (each emit awaited); this process, a
 * host of the same queue that runs nothing, reads every value (rt.output$). Against the same
 * on one host (the host that runs the task reads its values, subscribed while the task is
 * queued, or once it runs), on the same server. Values/s
 * for small values ({ i }) and 1 KB ones, and the reading host's event-loop delay p99
 * meanwhile (perf_hooks.monitorEventLoopDelay, 1 ms resolution). The SQLite figures of one
 * host are bench/diagnostics/output-stream.ts's.
 *
 *   node dist/bench/diagnostics/output-stream-hosts.js [values=100000] [rounds=3]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { filter, firstValueFrom } from 'rxjs';
import { defineTask } from '../../src/worker.js';
import { TaskRuntime } from '../../src/index.js';
import { startPostgres } from '../lib/postgres-server.js';

export const stream = defineTask(async ({ count, size }: { count: number; size: number }, ctx) => {
  const filler = 'x'.repeat(size);
  for (let i = 0; i < count; i++) await ctx.emit(size === 0 ? { i } : { i, filler });
  return count;
});

const handlers = new URL(import.meta.url);

/**
 * Reads one task's values as they come; resolves to values/s and the event-loop p99 (ms)
 * meanwhile. `running`: subscribes once the task runs on this host (the values go from
 * its thread to the reader in process); else at once, while it is queued (on a shared
 * queue, through the path between hosts, which a reader on the host that claims it takes
 * in process).
 */
async function measure(reader: TaskRuntime, count: number, size: number, running = false): Promise<{ rate: number; p99: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const started = firstValueFrom(reader.events$.pipe(filter((event) => event.type === 'started')));
  const handle = await reader.submit('stream', { count, size });
  if (running) await started;
  let seen = 0;
  delay.enable();
  const start = performance.now();
  await new Promise<void>((resolve, reject) => reader.output$(handle.id).subscribe({ next: () => seen++, complete: resolve, error: reject }));
  const ms = performance.now() - start;
  delay.disable();
  if (seen !== count) throw new Error(`${seen} values of ${count}`);
  return { rate: Math.round(seen / (ms / 1000)), p99: Number((delay.percentile(99) / 1e6).toFixed(1)) };
}

async function rounds(label: string, reader: TaskRuntime, count: number, times: number, running = false): Promise<void> {
  for (const size of [0, 1000]) {
    const results = [];
    for (let round = 0; round < times; round++) results.push(await measure(reader, count, size, running));
    console.log(
      `${label}: ${count} values of ${size === 0 ? '{ i }' : `${size} bytes`}: ${results.map((r) => r.rate).join(' ')} values/s; reader's event-loop p99 ${results.map((r) => r.p99).join(' ')} ms`,
    );
  }
}

if (isMainThread && process.argv[2] === 'host') {
  // The host process that runs the handler: open on the queue, until told to close.
  const rt = await TaskRuntime.open({ handlers, database: process.argv[3]!, concurrency: 1 });
  process.send!('ready');
  await once(process, 'message');
  await rt.close();
  process.disconnect();
} else if (isMainThread) {
  const count = Number(process.argv[2] ?? 100_000);
  const times = Number(process.argv[3] ?? 3);
  const server = await startPostgres();
  try {
    const one = await server.freshDatabase();
    const alone = await TaskRuntime.open({ handlers, database: one.url, concurrency: 1 });
    await rounds('one host, subscribed while queued', alone, count, times);
    await rounds('one host, subscribed once it runs', alone, count, times, true);
    await alone.close();
    await one.drop();

    const two = await server.freshDatabase();
    const host = fork(new URL(import.meta.url).pathname, ['host', two.url]);
    await once(host, 'message');
    const reader = await TaskRuntime.open({ handlers, database: two.url, concurrency: 0 });
    await rounds('two hosts', reader, count, times);
    await reader.close();
    host.send('close');
    await once(host, 'exit');
    await two.drop();
  } finally {
    await server.stop();
  }
}
