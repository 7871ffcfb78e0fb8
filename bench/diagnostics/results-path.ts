/**
 * The path users write, `submit()` then `await result()` for every task, measured by what it
 * costs the host: 20,000 no-ops at once, 2 threads, raw Piscina and offthread in turns
 * (`:memory:`, a file, and tasks that are not stored; a submit per task and one
 * submitMany). Per contender: tasks/s, and the main thread's CPU per task from
 * /proc/self/task/<pid>/schedstat (Linux), which a shared machine disturbs less than time.
 *
 *   node dist/bench/diagnostics/results-path.js [rounds=5]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { TaskRuntime } from '../../src/index.js';
import { HANDLERS } from '../contenders.js';
import { summarize } from '../lib/stats.js';

const TASKS = 20_000;
const rounds = Number(process.argv[2] ?? 5);

/** Nanoseconds the main thread has spent on a CPU. */
const mainThreadNs = (): number => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);

interface Flow {
  run(): Promise<void>;
  close(): Promise<void>;
}

async function offthread(database: 'memory' | 'file', many: boolean, durable = true): Promise<Flow> {
  const dir = database === 'file' ? mkdtempSync(join(tmpdir(), 'offthread-results-')) : undefined;
  const rt = await TaskRuntime.open({ handlers: HANDLERS, concurrency: 2, database: dir === undefined ? ':memory:' : join(dir, 'tasks.db'), durable });
  await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
  await rt.whenIdle();
  return {
    async run() {
      if (many) {
        const handles = await rt.submitMany(Array.from({ length: TASKS }, () => ({ type: 'noop', payload: 'noop' })));
        await Promise.all(handles.map((handle) => handle.result()));
      } else {
        const flows = new Array<Promise<unknown>>(TASKS);
        for (let i = 0; i < TASKS; i++) flows[i] = rt.submit('noop', 'noop').then((handle) => handle.result());
        await Promise.all(flows);
      }
    },
    async close() {
      await rt.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function raw(): Promise<Flow> {
  const pool = new Piscina({ filename: new URL('../workers/piscina-worker.js', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  await Promise.all(Array.from({ length: 200 }, () => pool.run('noop')));
  return {
    async run() {
      const flows = new Array<Promise<unknown>>(TASKS);
      for (let i = 0; i < TASKS; i++) flows[i] = pool.run('noop');
      await Promise.all(flows);
    },
    close: () => pool.destroy(),
  };
}

const contenders: Array<[string, () => Promise<Flow>]> = [
  ['raw piscina', raw],
  ['offthread :memory:', () => offthread('memory', false)],
  ['offthread :memory: (submitMany)', () => offthread('memory', true)],
  ['offthread file', () => offthread('file', false)],
  ['offthread durable: false', () => offthread('memory', false, false)],
  ['offthread durable: false (submitMany)', () => offthread('memory', true, false)],
];

const results = new Map<string, { rate: number[]; hostUs: number[] }>();
for (let round = 0; round < rounds; round++) {
  for (const [name, open] of round % 2 === 0 ? contenders : [...contenders].reverse()) {
    const flow = await open();
    const cpu = mainThreadNs();
    const start = performance.now();
    await flow.run();
    const ms = performance.now() - start;
    const hostUs = (mainThreadNs() - cpu) / 1000 / TASKS;
    await flow.close();
    const r = results.get(name) ?? { rate: [], hostUs: [] };
    r.rate.push(TASKS / (ms / 1000));
    r.hostUs.push(hostUs);
    results.set(name, r);
  }
  console.error(`round ${round + 1}/${rounds} done`);
}
const rawRate = summarize(results.get('raw piscina')!.rate).median;
console.log(`${TASKS} no-ops, each result awaited, 2 threads, ${rounds} rounds in turns; median (min-max)`);
console.log(`${'contender'.padEnd(40)} ${'tasks/s'.padEnd(24)} ${'vs raw'.padEnd(8)} host CPU µs/task`);
for (const [name, { rate, hostUs }] of results) {
  const r = summarize(rate);
  const h = summarize(hostUs);
  console.log(
    `${name.padEnd(40)} ${`${r.median.toFixed(0)} (${r.min.toFixed(0)}-${r.max.toFixed(0)})`.padEnd(24)} ${`${(r.median / rawRate).toFixed(2)}x`.padEnd(8)} ${h.median.toFixed(1)} (${h.min.toFixed(1)}-${h.max.toFixed(1)})`,
  );
}
