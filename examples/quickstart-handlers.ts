/**
 * The handlers module of the quick start. Each named export made with defineTask is a task
 * type: `rt.submit('primes', { from, to })` runs `primes` below on a worker thread.
 *
 * The handlers split their work into small chunks and, between chunks,
 *   - `await ctx.checkpoint()`: where a paused task stops (its thread sleeps, no CPU used)
 *     and a cancelled one throws an AbortError;
 *   - `ctx.progress(percent, message)`: cheap to call often, the runtime coalesces it.
 * A handler that never checkpoints can still be cancelled (its thread is terminated after
 * `cancelGraceMs`), but it cannot be paused.
 */
import { createHash } from 'node:crypto';
import { defineTask } from 'offthread/worker';

/** How many chunks a handler splits its work into: one checkpoint and progress call each. */
const CHUNKS = 200;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Counts the primes in [from, to) by trial division (slow on purpose: it is CPU work). */
export const primes = defineTask(async (payload: { from: number; to: number }, ctx) => {
  const { from, to } = payload;
  const step = Math.max(1, Math.ceil((to - from) / CHUNKS));
  let count = 0;
  let largest: number | null = null;
  for (let start = from; start < to; start += step) {
    await ctx.checkpoint();
    const end = Math.min(to, start + step);
    for (let n = start; n < end; n++) {
      if (isPrime(n)) {
        count++;
        largest = n;
      }
    }
    ctx.progress(((end - from) / (to - from)) * 100, `checked up to ${end.toLocaleString('en-US')}`);
  }
  return { count, largest };
});

/** Hashes a seed `rounds` times with SHA-256, each round hashing the last digest. */
export const hashChain = defineTask(async (payload: { seed: string; rounds: number }, ctx) => {
  const { seed, rounds } = payload;
  const step = Math.max(1, Math.ceil(rounds / CHUNKS));
  let digest = createHash('sha256').update(seed).digest();
  for (let done = 0; done < rounds; ) {
    await ctx.checkpoint();
    const end = Math.min(rounds, done + step);
    for (; done < end; done++) digest = createHash('sha256').update(digest).digest();
    ctx.progress((done / rounds) * 100, `${done.toLocaleString('en-US')} rounds`);
  }
  return { rounds, digest: digest.toString('hex') };
});

/** Estimates pi from `samples` random points in the unit square (a seeded PRNG: repeatable). */
export const estimatePi = defineTask(async (payload: { samples: number; seed?: number }, ctx) => {
  const { samples } = payload;
  // xorshift32: fast, deterministic, good enough for a demo.
  let state = (payload.seed ?? 1) >>> 0 || 1;
  const random = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const step = Math.max(1, Math.ceil(samples / CHUNKS));
  let inside = 0;
  for (let done = 0; done < samples; ) {
    await ctx.checkpoint();
    const end = Math.min(samples, done + step);
    for (; done < end; done++) {
      const x = random();
      const y = random();
      if (x * x + y * y <= 1) inside++;
    }
    ctx.progress((done / samples) * 100, `${(done / 1e6).toFixed(0)}M samples`);
  }
  return { samples, pi: (4 * inside) / samples };
});
