/**
 * What an open dashboard costs a busy runtime: N no-op submits, then whenIdle(), 2 threads,
 * on a fresh file, in turns: without a dashboard, with one and no page, with a page on its
 * overview, and with that page hidden (a background tab). The browser runs in a process of
 * its own (dashboard-page-driver.ts), so the runtime's process holds the runtime and the
 * dashboard only; it shares the machine's cores, as on a laptop. Prints tasks/s and, per
 * 1000 tasks, the CPU time of the runtime's process (all its threads) and its GC time:
 * medians (min-max) of the rounds.
 *
 *   node dist/bench/diagnostics/dashboard-page.js [tasks, default 100000] [rounds, default 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TaskRuntime, type Dashboard } from '../../src/index.js';
import { summarize, type Metric } from '../lib/stats.js';

const TASKS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const SIDES = ['without', 'dashboard', 'page', 'hidden'] as const;
type Side = (typeof SIDES)[number];
const handlers = new URL('../handlers.js', import.meta.url);

const driver = spawn(process.execPath, [fileURLToPath(new URL('./dashboard-page-driver.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
const answers = createInterface({ input: driver.stdout! })[Symbol.asyncIterator]();
async function ask(command?: string): Promise<void> {
  if (command !== undefined) driver.stdin!.write(`${command}\n`);
  const { value } = await answers.next();
  if (typeof value !== 'string' || value.startsWith('error')) throw new Error(`browser: ${command}: ${String(value)}`);
}
await ask(); // launched

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

interface Round {
  perSecond: number;
  cpuMs: number;
  gcMs: number;
}

async function round(side: Side): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-dashboard-page-'));
  const rt = await TaskRuntime.open({ handlers, database: join(dir, 'tasks.db'), concurrency: 2 });
  let dashboard: Dashboard | undefined;
  let page = false;
  try {
    await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
    await rt.whenIdle();
    if (side !== 'without') dashboard = await rt.dashboard();
    if (side === 'page' || side === 'hidden') {
      await ask(`open ${dashboard!.url}`);
      page = true;
    }
    if (side === 'hidden') await ask('hide');
    const gcBefore = gcMs;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const submits = new Array<Promise<unknown>>(TASKS);
    for (let i = 0; i < TASKS; i++) submits[i] = rt.submit('noop');
    await Promise.all(submits);
    await rt.whenIdle();
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const result = { perSecond: TASKS / (ms / 1000), cpuMs: (cpu.user + cpu.system) / 1000 / (TASKS / 1000), gcMs: (gcMs - gcBefore) / (TASKS / 1000) };
    // The page followed the run: its counts show every task.
    if (side === 'page') await ask(`wait ${200 + TASKS}`);
    return result;
  } finally {
    if (page) await ask('close');
    await dashboard?.close();
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rounds: Record<Side, Round[]> = { without: [], dashboard: [], page: [], hidden: [] };
for (let r = 1; r <= ROUNDS; r++) {
  const line: string[] = [];
  for (const side of SIDES) {
    const result = await round(side);
    rounds[side].push(result);
    line.push(`${side} ${Math.round(result.perSecond)}/s`);
  }
  console.error(`round ${r}/${ROUNDS}: ${line.join(', ')}`);
}
driver.stdin!.end();

const fmt = (m: Metric, digits = 0) => `${m.median.toFixed(digits)} (${m.min.toFixed(digits)}-${m.max.toFixed(digits)})`;
const without = summarize(rounds.without.map((x) => x.perSecond)).median;
console.log(`| ${TASKS} no-ops, submit() each then whenIdle(), 2 threads | tasks/s | / without, medians | CPU ms per 1000 tasks | GC ms per 1000 tasks |`);
console.log('| --- | --- | --- | --- | --- |');
for (const side of SIDES) {
  const perSecond = summarize(rounds[side].map((x) => x.perSecond));
  console.log(
    `| ${side} | ${fmt(perSecond)} | ${(perSecond.median / without).toFixed(2)} | ${fmt(summarize(rounds[side].map((x) => x.cpuMs)), 1)} | ${fmt(summarize(rounds[side].map((x) => x.gcMs)), 1)} |`,
  );
}
