/**
 * npm run bench [-- --tasks N --rounds R]
 * Runs each contender in turns, R rounds, and prints the median tasks/s with min-max and
 * the ratio to raw Piscina measured in the same run.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { measure, offthread, rawPiscina, type Contender } from './overhead.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } },
});
const tasks = Number(values.tasks);
const rounds = Number(values.rounds);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const contenders: Contender[] = [rawPiscina(), offthread('memory', 'submit'), offthread('memory', 'submitMany'), offthread('file', 'submit'), offthread('file', 'submitMany')];
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await c.setup();
  for (let round = 1; round <= rounds; round++) {
    for (const c of contenders) rates.get(c.name)!.push(await measure(c, tasks));
    process.stderr.write(`round ${round}/${rounds} done\n`);
  }
  for (const c of contenders) await c.teardown();
  const base = median(rates.get('raw piscina')!);
  console.log(`overhead: ${tasks} no-op tasks, 2 threads, ${rounds} rounds, Node ${process.version}, ${os.cpus().length} cores`);
  console.log('contender                      median tasks/s   (min-max)            vs raw piscina');
  for (const [name, xs] of rates) {
    const m = median(xs);
    const range = `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
    console.log(`${name.padEnd(30)} ${String(Math.round(m)).padStart(14)}   ${range.padEnd(20)} ${(m / base).toFixed(2)}x`);
  }
}

await main();
