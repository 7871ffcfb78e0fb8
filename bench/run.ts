/**
 * npm run bench [-- SCENARIO...] [--rounds N] [--quick] [--json FILE]
 *
 * Runs the scenarios (all by default; see bench/scenarios/index.ts) and prints a table per
 * scenario to stdout; progress goes to stderr. Each scenario measures its baseline (raw
 * Piscina, same threads) in the same run, in turns, and reports medians with min-max: the
 * machine may be shared and noisy, so only figures from one run compare.
 * --json FILE also writes every result, with the machine, as JSON (after each scenario,
 * so a crash late in the run keeps what was measured).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { formatTable } from './lib/report.js';
import type { RunContext, Scenario, ScenarioResult } from './lib/scenario.js';
import { scenarios } from './scenarios/index.js';
import { sharedQueue } from './scenarios/shared-queue.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

// Scenarios that start servers of their own run only when named, alone or by their group's name.
const groups: Record<string, Scenario[]> = { [sharedQueue.name]: sharedQueue.scenarios };
const everyScenario = [...scenarios, ...sharedQueue.scenarios];
const known = [...everyScenario.map((s) => s.name), ...Object.keys(groups)];
if (values.help) {
  console.log('npm run bench [-- SCENARIO...] [--rounds N] [--quick] [--json FILE]\n\nscenarios:');
  for (const s of scenarios) console.log(`  ${s.name.padEnd(16)} ${s.summary}`);
  for (const [group, members] of Object.entries(groups)) {
    console.log(`\nrun only when named (${group} runs all of them):`);
    for (const s of members) console.log(`  ${s.name.padEnd(16)} ${s.summary}`);
  }
  process.exit(0);
}
const unknown = positionals.filter((p) => !known.includes(p));
const rounds = Number(values.rounds);
if (unknown.length > 0 || !Number.isInteger(rounds) || rounds < 1) {
  console.error(unknown.length > 0 ? `unknown scenario: ${unknown.join(', ')}; known: ${known.join(', ')}` : '--rounds must be a positive integer');
  process.exit(2);
}
const named = (s: Scenario) => positionals.includes(s.name) || positionals.some((p) => groups[p]?.includes(s));
const selected = positionals.length > 0 ? everyScenario.filter(named) : scenarios;

const machine = {
  cores: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  memoryGB: Math.round(os.totalmem() / 1e9),
  date: new Date().toISOString(),
  /** The code measured: src/ may have changed since the last commit. */
  git: gitState(),
};

function gitState(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    return 'unknown';
  }
}
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
const ctx: RunContext = { rounds, quick: values.quick, log: (line) => process.stderr.write(`${line}\n`) };
const results: Array<ScenarioResult | { scenario: string; error: string }> = [];

const save = () => {
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine, command, rounds, quick: values.quick, scenarios: results }, null, 2)}\n`);
};

console.log(`offthread bench: ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, ${machine.date}, git ${machine.git}; ${rounds} rounds${values.quick ? ', quick' : ''}`);
for (const scenario of selected) {
  const start = Date.now();
  ctx.log(`${scenario.name}: starting`);
  try {
    const result = await scenario.run(ctx);
    results.push(result);
    console.log(formatTable(result));
  } catch (error) {
    // One broken scenario does not lose the others' results.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    results.push({ scenario: scenario.name, error: message });
    console.log(`\n${scenario.name}: FAILED: ${message}`);
    process.exitCode = 1;
  }
  ctx.log(`${scenario.name}: done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  save();
}
// A contender that timed out may still hold threads or sockets: do not wait for them.
process.exit();
