/**
 * Where the CPU goes in cpu-scaling's flow: 1000 tasks of ~4 ms (bench/lib/work.ts) on 2
 * threads, raw Piscina and offthread (':memory:' and a file) in turns. Per task: the host's
 * (main thread's) CPU and how often it was put on a core, the two worker threads' CPU, and
 * the rest of the process (V8's helper threads for GC and compiling, the WAL checkpoint
 * thread). Read from /proc/self/task/<tid>/schedstat (Linux): nanoseconds on a CPU, and runs.
 *
 *   node dist/bench/diagnostics/cpu-per-task.js [rounds]
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Contender } from '../lib/contender.js';
import { summarize } from '../lib/stats.js';
import { variants } from '../registry.js';

const TASKS = 1000;
const WARMUP = 50;
const rounds = Number(process.argv[2] ?? 5);

/** Per thread id: [ns on a CPU, times put on a CPU]. */
function threadTimes(): Map<string, [number, number]> {
  const times = new Map<string, [number, number]>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [ns, , runs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(tid, [ns!, runs!]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return times;
}

// The scenarios' own contenders; offthread submits the tasks with one submitMany.
const contenders: Array<() => Contender> = [variants.raw, variants.memoryMany, variants.fileMany];

const results = new Map<string, Record<'host' | 'hostRuns' | 'workers' | 'rest', number[]>>();
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 1 ? [...contenders].reverse() : contenders;
  for (const factory of order) {
    const contender = factory();
    const name = contender.name;
    await contender.setup(2);
    await contender.runMany(WARMUP, 'cpu');
    const before = threadTimes();
    await contender.runMany(TASKS, 'cpu');
    const after = threadTimes();
    await contender.teardown();
    const main = String(process.pid);
    const usedUs = (tid: string): number => (after.get(tid)![0] - (before.get(tid)?.[0] ?? 0)) / 1000 / TASKS;
    const others = [...after.keys()].filter((tid) => tid !== main).map(usedUs).sort((a, b) => b - a);
    const r = results.get(name) ?? { host: [], hostRuns: [], workers: [], rest: [] };
    r.host.push(usedUs(main));
    r.hostRuns.push((after.get(main)![1] - before.get(main)![1]) / TASKS);
    // The two busiest threads are the workers (each ran ~half the tasks' 4 ms).
    r.workers.push(others[0]! + others[1]!);
    r.rest.push(others.slice(2).reduce((sum, us) => sum + us, 0));
    results.set(name, r);
  }
  console.error(`round ${round + 1}/${rounds} done`);
}

const fmt = (samples: number[], digits = 1): string => {
  const s = summarize(samples);
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
};
console.log(`${TASKS} tasks of ~4 ms on 2 threads, ${rounds} rounds in turns; per task, median (min-max):`);
console.log('contender'.padEnd(34), 'host µs'.padEnd(20), 'host runs'.padEnd(20), 'workers µs'.padEnd(24), 'rest µs');
for (const [name, r] of results) {
  console.log(name.padEnd(34), fmt(r.host).padEnd(20), fmt(r.hostRuns, 2).padEnd(20), fmt(r.workers, 0).padEnd(24), fmt(r.rest));
}
