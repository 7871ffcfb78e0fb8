/**
 * npm run soak -- [--commands N] [--kills N] [--seed S] [--path P --replay-path R]
 *
 * --commands N  the model-based property run (model.ts) with N commands in total, in many
 *               fast-check runs of up to --max-commands-per-run commands each.
 * --kills N     the kill soak (kill-soak.ts): a host SIGKILLed N times while it runs tasks.
 * --seed S      the seed to replay; with --path and --replay-path (as a failure prints
 *               them), replays that one failing model run.
 * Both may be given; neither runs a short model run. Exits 1 on any failure.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runKillSoak } from './kill-soak.js';
import { runModel } from './model-run.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer.');
  return n;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

const program = new Command('soak')
  .option('--commands <n>', 'model-based run: commands in total', count)
  .option('--kills <n>', 'kill soak: SIGKILLs of the host', count)
  .option('--seed <s>', 'seed (a failure prints the one to replay)', (value) => count(value) | 0)
  .option('--path <path>', 'model run: the fast-check path of a failing run to replay')
  .option('--replay-path <path>', 'model run: the replayPath of its commands')
  .option('--max-commands-per-run <n>', 'model run: longest command sequence of one run', count, 800)
  .option('--batch <n>', 'kill soak: tasks each host submits', count, 6)
  .option('--spins <n>', 'kill soak: CPU work of a task (about 0.2 ms a spin)', count, 20)
  .parse();

const options = program.opts<{
  commands?: number;
  kills?: number;
  seed?: number;
  path?: string;
  replayPath?: string;
  maxCommandsPerRun: number;
  batch: number;
  spins: number;
}>();

let failed = false;
const commands = options.commands ?? (options.kills === undefined ? 1000 : undefined);

if (commands !== undefined) {
  const report = await runModel({
    commands,
    maxCommandsPerRun: options.maxCommandsPerRun,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
    ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
  });
  console.log('model-based run');
  console.log(`  commands   ${report.commands} in ${report.runs} runs (${report.kills} kills, ${report.reopens} close + open)`);
  console.log(`  wall time  ${seconds(report.wallMs)} (${(report.wallMs / Math.max(1, report.commands)).toFixed(2)} ms a command)`);
  console.log('  outcomes');
  for (const [what, n] of [...report.outcomes].sort(([a], [b]) => a.localeCompare(b))) console.log(`    ${what.padEnd(48)} ${n}`);
  if (report.failure === undefined) console.log('  failures   0');
  else {
    failed = true;
    const { seed, path, replayPath, message } = report.failure;
    console.log(`  FAILED: ${message}`);
    console.log(`  replay with: npm run soak -- --commands 1 --seed ${seed} --path '${path}'${replayPath === undefined ? '' : ` --replay-path '${replayPath}'`}`);
  }
}

if (options.kills !== undefined) {
  const every = Math.max(1, Math.round(options.kills / 20));
  const report = await runKillSoak({
    kills: options.kills,
    batch: options.batch,
    spins: options.spins,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    onKill: (n) => n % every === 0 && process.stderr.write(`  ${n} kills\n`),
  });
  console.log('kill soak');
  console.log(`  seed          ${report.seed}`);
  console.log(`  kills         ${report.kills} (${report.incarnations} hosts)`);
  console.log(`  tasks         ${report.acknowledged} acknowledged, ${report.stored} stored`);
  console.log(`  lost          ${report.lost.length}${report.lost.length > 0 ? `: ${report.lost.slice(0, 10).join(', ')}` : ''}`);
  console.log(`  re-executions per kill: mean ${report.reexecutionsMean.toFixed(2)}, max ${report.reexecutionsMax}`);
  console.log(`  wall time     ${seconds(report.wallMs)} (${(report.wallMs / Math.max(1, report.incarnations)).toFixed(0)} ms a host)`);
  for (const problem of report.problems.slice(0, 20)) console.log(`  PROBLEM: ${problem}`);
  if (report.lost.length > 0 || report.problems.length > 0) {
    failed = true;
    console.log(`  FAILED; replay with: npm run soak -- --kills ${options.kills} --seed ${report.seed}`);
  }
}

process.exitCode = failed ? 1 : 0;
