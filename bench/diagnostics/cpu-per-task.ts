/**
 * Where the CPU goes in cpu-scaling's flow: 1000 tasks of ~4 ms (bench/lib/work.ts) on 2
 * threads, raw Piscina and offthread (':memory:' and a file) in turns. Per task: the host's
 * (main thread's) CPU and how often it was put on a core, the two worker threads' CPU, and
 * the rest of the process (V8's helper threads for GC and compiling, the WAL checkpoint
 * thread). Read from /proc/self/task/<tid>/schedstat (Linux): nanoseconds on a CPU, and runs.
 *
 *   node dist/bench/diagnostics/cpu-per-task.js [rounds]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { TaskRuntime } from 'offthread';
import { HANDLERS } from '../contenders.js';
import { summarize } from '../lib/stats.js';

const TASKS = 1000;
const WARMUP = 50;
const rounds = Number(process.argv[2] ?? 5);

interface Flow {
  run(count: number): Promise<void>;
  close(): Promise<void>;
}

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

async function rawPiscina(): Promise<Flow> {
  const pool = new Piscina({ filename: new URL('../workers/piscina-worker.js', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  return {
    run: async (count) => void (await Promise.all(Array.from({ length: count }, () => pool.run('cpu')))),
    close: () => pool.destroy(),
  };
}

async function offthread(store: 'memory' | 'file'): Promise<Flow> {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-cpu-per-task-'));
  const rt = await TaskRuntime.open({ handlers: HANDLERS, database: store === 'file' ? join(dir, 'tasks.db') : ':memory:', concurrency: 2 });
  return {
    async run(count) {
      await rt.submitMany(Array.from({ length: count }, () => ({ type: 'work', payload: 'cpu' })));
      await rt.whenIdle();
    },
    async close() {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const contenders: Record<string, () => Promise<Flow>> = {
  'raw piscina': rawPiscina,
  "offthread ':memory:'": () => offthread('memory'),
  'offthread file': () => offthread('file'),
};

const results = new Map<string, Record<'host' | 'hostRuns' | 'workers' | 'rest', number[]>>();
for (let round = 0; round < rounds; round++) {
  const names = Object.keys(contenders);
  if (round % 2 === 1) names.reverse();
  for (const name of names) {
    const flow = await contenders[name]!();
    await flow.run(WARMUP);
    const before = threadTimes();
    await flow.run(TASKS);
    const after = threadTimes();
    await flow.close();
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
console.log('contender'.padEnd(22), 'host µs'.padEnd(20), 'host runs'.padEnd(20), 'workers µs'.padEnd(24), 'rest µs');
for (const [name, r] of results) {
  console.log(name.padEnd(22), fmt(r.host).padEnd(20), fmt(r.hostRuns, 2).padEnd(20), fmt(r.workers, 0).padEnd(24), fmt(r.rest));
}
