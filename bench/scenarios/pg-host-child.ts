/**
 * node dist/bench/scenarios/pg-host-child.js URL CONCURRENCY: one host of a queue on
 * PostgreSQL, in its own process, for the shared-queue benchmarks (forked by
 * bench/lib/host-process.ts). It opens a runtime on URL's default queue with the shared-queue
 * handlers and CONCURRENCY threads, says { ready: pid } over IPC, and runs whatever it claims
 * until told 'close' (or until its parent goes away), then closes and exits.
 */
import { TaskRuntime } from 'offthread';
import { SHARED_HANDLERS } from '../offthread-postgres.js';

const [url, concurrency] = process.argv.slice(2);
if (!url || !concurrency || !process.send) {
  console.error('usage: forked with IPC, as pg-host-child.js URL CONCURRENCY');
  process.exit(2);
}

const runtime = await TaskRuntime.open({ handlers: SHARED_HANDLERS, database: url, concurrency: Number(concurrency) });
let closing: Promise<void> | undefined;
const close = () =>
  (closing ??= runtime.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  ));
process.on('message', (message) => message === 'close' && void close());
// The parent crashed or was killed: do not hold claimed tasks or threads past it.
process.on('disconnect', () => void close());
process.send({ ready: process.pid });
