/**
 * The work every contender's worker does, so all run the same thing: nothing, or about
 * 5 ms of CPU (a fixed number of loop iterations, calibrated once on this machine; the
 * scaling scenario measures the single-thread rate itself, so the exact time does not matter).
 */
export type Work = 'noop' | 'cpu';

/** Iterations of the CPU loop: ~5 ms on the 2-core machine this was written on. */
export const CPU_ITERATIONS = 1_000_000;

export function doWork(work: Work): number {
  if (work === 'noop') return 0;
  let x = 0;
  for (let i = 0; i < CPU_ITERATIONS; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}
