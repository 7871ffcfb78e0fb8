/**
 * Latency: submit -> result on an idle runtime, one task at a time, against raw Piscina's
 * run() -> result. Reports p50 and p99 in microseconds.
 */
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';

const HANDLERS = new URL('./handlers.js', import.meta.url);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface LatencyFigures {
  p50: number;
  p99: number;
}

async function sample(count: number, once: () => Promise<unknown>): Promise<LatencyFigures> {
  for (let i = 0; i < 200; i++) await once(); // warm up
  const us: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await once();
    us[i] = (performance.now() - start) * 1000;
  }
  us.sort((a, b) => a - b);
  return { p50: percentile(us, 50), p99: percentile(us, 99) };
}

export async function latencyRawPiscina(count: number): Promise<LatencyFigures> {
  const pool = new Piscina({ filename: new URL('./noop-worker.js', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  try {
    return await sample(count, () => pool.run(null));
  } finally {
    await pool.destroy();
  }
}

export async function latencyOffthread(count: number, database = ':memory:'): Promise<LatencyFigures> {
  const runtime = await TaskRuntime.open({ handlers: HANDLERS, concurrency: 2, database });
  try {
    return await sample(count, async () => (await runtime.submit('noop')).result());
  } finally {
    await runtime.close();
  }
}
