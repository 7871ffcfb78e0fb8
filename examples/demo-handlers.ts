/**
 * The handlers module of the demo (`npm start`): three kinds of real CPU work. Each named
 * export made with defineTask is a task type: `rt.submit('primes', { from, to })` runs
 * `primes` below on a worker thread.
 *
 * Every handler splits its work into small steps and, between steps,
 *   - `await ctx.checkpoint()`: where a paused task stops (its thread sleeps, no CPU used)
 *     and a cancelled one throws an AbortError;
 *   - `ctx.progress(percent, message)`: cheap to call often, the runtime coalesces it;
 *   - `ctx.saveCheckpoint(state)`: the work done so far, kept in the database, so a run
 *     interrupted by Ctrl-C (or a crash) goes on from there next time, as
 *     `ctx.checkpointState`, instead of starting over.
 */
import { createHash } from 'node:crypto';
import { defineTask } from 'offthread/worker';

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) if (n % d === 0 || n % (d + 2) === 0) return false;
  return true;
}

interface PrimesState {
  next: number;
  count: number;
}

/** Counts the primes in [from, to) by trial division: slow on purpose, it is CPU work. */
export const primes = defineTask(async (payload: { from: number; to: number }, ctx) => {
  const { from, to } = payload;
  const step = Math.max(1, Math.ceil((to - from) / 400));
  const saved = ctx.checkpointState as PrimesState | undefined;
  let { next, count } = saved ?? { next: from, count: 0 };
  while (next < to) {
    await ctx.checkpoint();
    const end = Math.min(to, next + step);
    for (let n = next; n < end; n++) if (isPrime(n)) count++;
    next = end;
    ctx.saveCheckpoint({ next, count } satisfies PrimesState);
    ctx.progress(((next - from) / (to - from)) * 100, `${count.toLocaleString('en-US')} primes so far`);
  }
  return { from, to, count };
});

interface ChainState {
  done: number;
  digest: string;
}

/** Hashes a seed `rounds` times with SHA-256, each round hashing the last digest. */
export const hashChain = defineTask(async (payload: { seed: string; rounds: number }, ctx) => {
  const { seed, rounds } = payload;
  const step = Math.max(1, Math.ceil(rounds / 400));
  const saved = ctx.checkpointState as ChainState | undefined;
  let done = saved?.done ?? 0;
  let digest = saved === undefined ? createHash('sha256').update(seed).digest() : Buffer.from(saved.digest, 'hex');
  while (done < rounds) {
    await ctx.checkpoint();
    const end = Math.min(rounds, done + step);
    for (; done < end; done++) digest = createHash('sha256').update(digest).digest();
    ctx.saveCheckpoint({ done, digest: digest.toString('hex') } satisfies ChainState);
    ctx.progress((done / rounds) * 100, `${done.toLocaleString('en-US')} rounds`);
  }
  return { rounds, digest: digest.toString('hex').slice(0, 16) };
});

interface TileState {
  row: number;
  inside: number;
  iterations: number;
}

/**
 * Renders one tile of the Mandelbrot set: `size` x `size` pixels of the square at (x, y)
 * with side `span`, up to `maxIterations` each. Returns how many pixels are inside the set
 * and the total iterations, a row per step.
 */
export const mandelbrot = defineTask(
  async (payload: { x: number; y: number; span: number; size: number; maxIterations: number }, ctx) => {
    const { x, y, span, size, maxIterations } = payload;
    const saved = ctx.checkpointState as TileState | undefined;
    let { row, inside, iterations } = saved ?? { row: 0, inside: 0, iterations: 0 };
    for (; row < size; ) {
      await ctx.checkpoint();
      const ci = y + (row / size) * span;
      for (let col = 0; col < size; col++) {
        const cr = x + (col / size) * span;
        let zr = 0;
        let zi = 0;
        let i = 0;
        while (i < maxIterations && zr * zr + zi * zi <= 4) {
          const t = zr * zr - zi * zi + cr;
          zi = 2 * zr * zi + ci;
          zr = t;
          i++;
        }
        iterations += i;
        if (i === maxIterations) inside++;
      }
      row++;
      ctx.saveCheckpoint({ row, inside, iterations } satisfies TileState);
      ctx.progress((row / size) * 100, `row ${row} of ${size}`);
    }
    return { pixels: size * size, inside, iterations };
  },
);
