/**
 * npm run bench [-- SCENARIO] [--tasks N] [--rounds R]
 * Scenarios: overhead (no-op tasks/s against raw Piscina), latency (submit -> result on an
 * idle runtime against raw Piscina's run()). Each contender is measured in turns in this
 * one process, R rounds, and reported as a median with min-max and the ratio to raw Piscina.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { latencyOffthread, latencyRawPiscina, type LatencyFigures } from './latency.js';
import { measure, offthread, rawPiscina, type Contender } from './overhead.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tasks: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } },
});
const tasks = Number(values.tasks);
const rounds = Number(values.rounds);
const scenarios = positionals.length > 0 ? positionals : ['overhead', 'latency'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;

async function overhead(): Promise<void> {
  const contenders: Contender[] = [
    rawPiscina(),
    offthread('memory', 'submit'),
    offthread('memory', 'submitMany'),
    offthread('file', 'submit'),
    offthread('file', 'submitMany'),
  ];
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await c.setup();
  for (let round = 1; round <= rounds; round++) {
    for (const c of contenders) rates.get(c.name)!.push(await measure(c, tasks));
    process.stderr.write(`overhead: round ${round}/${rounds} done\n`);
  }
  for (const c of contenders) await c.teardown();
  const base = median(rates.get('raw piscina')!);
  console.log(`\noverhead: ${tasks} no-op tasks, 2 threads, ${rounds} rounds`);
  console.log('contender                      median tasks/s   (min-max)            vs raw piscina');
  for (const [name, xs] of rates) {
    const m = median(xs);
    console.log(`${name.padEnd(30)} ${String(Math.round(m)).padStart(14)}   ${range(xs).padEnd(20)} ${(m / base).toFixed(2)}x`);
  }
}

async function latency(): Promise<void> {
  const count = Math.min(tasks, 2000);
  const results = new Map<string, LatencyFigures[]>([
    ['raw piscina run()', []],
    ['offthread submit -> result', []],
  ]);
  for (let round = 1; round <= rounds; round++) {
    results.get('raw piscina run()')!.push(await latencyRawPiscina(count));
    results.get('offthread submit -> result')!.push(await latencyOffthread(count));
    process.stderr.write(`latency: round ${round}/${rounds} done\n`);
  }
  const base = median(results.get('raw piscina run()')!.map((f) => f.p50));
  console.log(`\nlatency: ${count} sequential no-op tasks on an idle runtime (':memory:'), 2 threads, ${rounds} rounds, microseconds`);
  console.log('contender                      p50 median (min-max)     p99 median (min-max)     p50 vs raw');
  for (const [name, figures] of results) {
    const p50 = figures.map((f) => f.p50);
    const p99 = figures.map((f) => f.p99);
    console.log(
      `${name.padEnd(30)} ${`${Math.round(median(p50))} (${range(p50)})`.padEnd(24)} ${`${Math.round(median(p99))} (${range(p99)})`.padEnd(24)} ${(median(p50) / base).toFixed(2)}x`,
    );
  }
}

console.log(`offthread bench: Node ${process.version}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`);
for (const scenario of scenarios) {
  if (scenario === 'overhead') await overhead();
  else if (scenario === 'latency') await latency();
  else {
    console.error(`unknown scenario "${scenario}"; known: overhead, latency`);
    process.exitCode = 2;
  }
}
