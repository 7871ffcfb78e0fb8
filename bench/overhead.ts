/**
 * Overhead: no-op tasks/s through offthread (':memory:' and a file) against raw Piscina
 * with the same thread count, in one process, in turns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';

const THREADS = 2;
const HANDLERS = new URL('./handlers.js', import.meta.url);

export interface Contender {
  name: string;
  setup(): Promise<void>;
  /** Runs `count` tasks to the end; returns when all are done. */
  run(count: number): Promise<void>;
  teardown(): Promise<void>;
}

export function rawPiscina(): Contender {
  let pool: Piscina;
  return {
    name: 'raw piscina',
    async setup() {
      pool = new Piscina({ filename: new URL('./noop-worker.js', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS, idleTimeout: Infinity });
      await Promise.all(Array.from({ length: THREADS * 4 }, () => pool.run(null)));
    },
    async run(count) {
      const runs = new Array(count);
      for (let i = 0; i < count; i++) runs[i] = pool.run(null);
      await Promise.all(runs);
    },
    teardown: () => pool.destroy(),
  };
}

export function offthread(kind: 'memory' | 'file', submit: 'submit' | 'submitMany'): Contender {
  let runtime: TaskRuntime;
  let dir: string | undefined;
  return {
    name: `offthread ${kind} (${submit})`,
    async setup() {
      let database = ':memory:';
      if (kind === 'file') {
        dir = mkdtempSync(join(tmpdir(), 'offthread-bench-'));
        database = join(dir, 'bench.db');
      }
      runtime = await TaskRuntime.open({ handlers: HANDLERS, database, concurrency: THREADS });
      // Warm up: threads started, the handler module loaded, the type known to be short.
      await runtime.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
      await runtime.whenIdle();
    },
    async run(count) {
      if (submit === 'submitMany') {
        await runtime.submitMany(Array.from({ length: count }, () => ({ type: 'noop' })));
      } else {
        const submits = new Array(count);
        for (let i = 0; i < count; i++) submits[i] = runtime.submit('noop');
        await Promise.all(submits);
      }
      await runtime.whenIdle();
    },
    async teardown() {
      await runtime.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function measure(contender: Contender, count: number): Promise<number> {
  const start = performance.now();
  await contender.run(count);
  return count / ((performance.now() - start) / 1000);
}
