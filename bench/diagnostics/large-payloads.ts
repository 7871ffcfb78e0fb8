/**
 * Large payloads: 1 MB each (an image, a document), submitted at once and every result
 * awaited, through raw Piscina and offthread (':memory:' and a file), 2 threads, in turns.
 * The handler returns the payload's length. Tasks/s and MB/s of payload, median (min-max).
 *
 *   node dist/bench/diagnostics/large-payloads.js [tasks=200] [rounds=5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { defineTask } from '../../src/worker.js';
import { TaskRuntime } from '../../src/index.js';
import { summarize } from '../lib/stats.js';

const MB = 1024 * 1024;
const length = (bytes: Uint8Array): number => bytes.byteLength;
export const measure = defineTask(length);
/** Raw Piscina's worker: the same function. */
export default length;

const tasks = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 5);

interface Flow {
  name: string;
  run(payloads: Uint8Array[]): Promise<void>;
  close(): Promise<void>;
}

async function offthreadFlow(database: 'memory' | 'file'): Promise<Flow> {
  const dir = database === 'file' ? mkdtempSync(join(tmpdir(), 'offthread-large-')) : undefined;
  const rt = await TaskRuntime.open({ handlers: new URL(import.meta.url), concurrency: 2, database: dir === undefined ? ':memory:' : join(dir, 'large.db') });
  return {
    name: `offthread ${database === 'file' ? 'file' : ':memory:'}`,
    async run(payloads) {
      const results = await Promise.all(payloads.map((payload) => rt.submit('measure', payload).then((handle) => handle.result())));
      if (results.some((n) => n !== MB)) throw new Error('wrong result');
    },
    async close() {
      await rt.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function rawFlow(): Flow {
  const pool = new Piscina({ filename: new URL(import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  return {
    name: 'raw piscina',
    async run(payloads) {
      const results = await Promise.all(payloads.map((payload) => pool.run(payload)));
      if (results.some((n) => n !== MB)) throw new Error('wrong result');
    },
    close: () => pool.destroy(),
  };
}

if (isMainThread) {
  const makers: Array<() => Flow | Promise<Flow>> = [rawFlow, () => offthreadFlow('memory'), () => offthreadFlow('file')];
  const rates = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const make of round % 2 === 0 ? makers : [...makers].reverse()) {
      const flow = await make();
      await flow.run(Array.from({ length: 4 }, () => new Uint8Array(MB)));
      const payloads = Array.from({ length: tasks }, (_, i) => new Uint8Array(MB).fill(i % 251));
      const start = performance.now();
      await flow.run(payloads);
      const rate = tasks / ((performance.now() - start) / 1000);
      await flow.close();
      rates.set(flow.name, [...(rates.get(flow.name) ?? []), rate]);
    }
  }
  const raw = summarize(rates.get('raw piscina')!).median;
  console.log(`${tasks} payloads of 1 MB, every result awaited, 2 threads, ${rounds} rounds in turns`);
  for (const [name, samples] of rates) {
    const s = summarize(samples);
    console.log(`${name.padEnd(18)} ${s.median.toFixed(0)} tasks/s (${s.min.toFixed(0)}-${s.max.toFixed(0)}) = ${s.median.toFixed(0)} MB/s; ${(s.median / raw).toFixed(2)}x raw Piscina`);
  }
}
