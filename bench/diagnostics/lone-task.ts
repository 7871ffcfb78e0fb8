/**
 * A lone task: what it costs the host and how long it takes. One no-op task at a time
 * (submit, then result), raw Piscina and offthread in turns, 2 threads. Per task: the
 * main thread's CPU (from /proc/self/task/<pid>/schedstat, Linux), then p50 and p99 of
 * submit -> result. offthread also runs with niceIncrement 0: its worker threads' lower
 * priority is most of its p99 on a busy machine.
 *
 * Run it under `taskset -c 0` too: on one vCPU no thread waits for a halted vCPU to wake,
 * so the round trip is the fast one every time (see bench/RESULTS.md, latency).
 *
 *   node dist/bench/diagnostics/lone-task.js [rounds]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { offthread } from '../contenders.js';
import type { Contender } from '../lib/contender.js';
import { percentile, summarize } from '../lib/stats.js';
import { variants } from '../registry.js';

const TASKS = 2000;
const WARMUP = 200;
const rounds = Number(process.argv[2] ?? 3);

/** Nanoseconds the main thread has spent on a CPU. */
function mainThreadNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

const contenders: Array<() => Contender> = [variants.raw, variants.memory, variants.file, () => offthread('memory', 'submit', 0)];

const results = new Map<string, Record<'hostUs' | 'p50' | 'p99', number[]>>();
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 1 ? [...contenders].reverse() : contenders;
  for (const factory of order) {
    const contender = factory();
    await contender.setup(2);
    for (let i = 0; i < WARMUP; i++) await contender.runOne('noop');
    const us = new Array<number>(TASKS);
    const before = mainThreadNs();
    for (let i = 0; i < TASKS; i++) {
      const start = performance.now();
      await contender.runOne('noop');
      us[i] = (performance.now() - start) * 1000;
    }
    const hostUs = (mainThreadNs() - before) / 1000 / TASKS;
    await contender.teardown();
    us.sort((a, b) => a - b);
    const r = results.get(contender.name) ?? { hostUs: [], p50: [], p99: [] };
    r.hostUs.push(hostUs);
    r.p50.push(percentile(us, 50));
    r.p99.push(percentile(us, 99));
    results.set(contender.name, r);
  }
  console.error(`round ${round + 1}/${rounds} done`);
}

const fmt = (samples: number[]): string => {
  const s = summarize(samples);
  return `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
};
console.log(`${TASKS} lone no-op tasks after ${WARMUP}, 2 threads, ${rounds} rounds in turns; median (min-max) of the rounds:`);
console.log('contender'.padEnd(44), 'host CPU µs/task'.padEnd(20), 'p50 µs'.padEnd(20), 'p99 µs');
for (const [name, r] of results) console.log(name.padEnd(44), fmt(r.hostUs).padEnd(20), fmt(r.p50).padEnd(20), fmt(r.p99));
