/** offthread and raw Piscina as benchmark contenders. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';
import { callPoolContender } from './lib/call-pool.js';
import type { Contender } from './lib/contender.js';
import type { Work } from './lib/work.js';

export const HANDLERS = new URL('./handlers.js', import.meta.url);

export function rawPiscina(): Contender {
  return callPoolContender('raw piscina', (threads) => {
    const pool = new Piscina({
      filename: new URL('./workers/piscina-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
    });
    return { call: (work) => pool.run(work), close: () => pool.destroy() };
  });
}

/** A temp folder for a file database, removed at teardown. */
function tempFile(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-bench-'));
  return { path: join(dir, 'bench.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `results`: runMany awaits every task's `result()` (the path most apps write) instead of
 * `whenIdle()`. `niceIncrement`: the runtime's default (10) unless given, and then named in the row.
 * `durable` false: the runtime's default `durable: false`, so no task is stored (the store is
 * ':memory:' all the same, and the row is named for the option).
 */
export function offthread(
  store: 'memory' | 'file',
  submit: 'submit' | 'submitMany' = 'submit',
  niceIncrement?: number,
  results = false,
  durable = true,
): Contender {
  let runtime: TaskRuntime;
  let file: { path: string; remove(): void } | undefined;
  const type = (work: Work) => (work === 'noop' ? 'noop' : 'work');
  return {
    name: `offthread ${!durable ? 'durable: false' : store === 'memory' ? ':memory:' : 'file'}${submit === 'submitMany' ? ' (submitMany)' : ''}${niceIncrement === undefined ? '' : ` (niceIncrement ${niceIncrement})`}${results ? ' + result()' : ''}`,
    async setup(threads) {
      if (store === 'file') file = tempFile();
      runtime = await TaskRuntime.open({
        handlers: HANDLERS,
        database: file?.path ?? ':memory:',
        concurrency: threads,
        ...(durable ? {} : { durable: false }),
        ...(niceIncrement === undefined ? {} : { niceIncrement }),
      });
      // Warm up: threads started, the module loaded, the no-op type known to be short.
      await runtime.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
      await runtime.whenIdle();
    },
    async runMany(count, work) {
      if (results) {
        if (submit === 'submitMany') {
          const handles = await runtime.submitMany(Array.from({ length: count }, () => ({ type: type(work), payload: work })));
          await Promise.all(handles.map((handle) => handle.result()));
        } else {
          const flows = new Array<Promise<unknown>>(count);
          for (let i = 0; i < count; i++) flows[i] = runtime.submit(type(work), work).then((handle) => handle.result());
          await Promise.all(flows);
        }
        return;
      }
      if (submit === 'submitMany') {
        await runtime.submitMany(Array.from({ length: count }, () => ({ type: type(work), payload: work })));
      } else {
        const submits = new Array(count);
        for (let i = 0; i < count; i++) submits[i] = runtime.submit(type(work), work);
        await Promise.all(submits);
      }
      await runtime.whenIdle();
    },
    async runOne(work) {
      await (await runtime.submit(type(work), work)).result();
    },
    async teardown() {
      await runtime.close();
      file?.remove();
    },
  };
}
