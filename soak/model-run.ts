/**
 * Runs the model-based property: batches of fast-check runs, each a random sequence of
 * commands on a fresh database, until the commands run reach the number asked. One model
 * host process serves all runs (and is replaced at each kill).
 */
import fc from 'fast-check';
import { CommandTally, DEFAULT_WEIGHTS, modelCommands, type CommandWeights, type Real } from './commands.js';
import { Model } from './model.js';
import { ModelSystem } from './model-system.js';

export interface ModelRunOptions {
  /** Commands to run in total (across runs). */
  commands: number;
  /** Seed of the first batch; batch i uses seed + i. */
  seed?: number;
  /** Replays one failing run: the `path` fast-check reported with `seed`... */
  path?: string;
  /** ...and the `replayPath` of its counterexample (which commands of the sequence ran). */
  replayPath?: string;
  maxCommandsPerRun?: number;
  runsPerBatch?: number;
  weights?: CommandWeights;
  /**
   * Shrink a failing run to a shorter sequence (each try runs it again, and a hang costs
   * the answer timeout each time). The tests report the failing run as it came instead;
   * its seed and path replay it, shrinking, with `npm run soak`. @default true
   */
  shrink?: boolean;
}

export interface ModelRunFailure {
  seed: number;
  path: string;
  replayPath: string | undefined;
  /** The shrunk command sequence and what went wrong. */
  message: string;
}

export interface ModelRunReport {
  commands: number;
  runs: number;
  kills: number;
  reopens: number;
  outcomes: Map<string, number>;
  failure: ModelRunFailure | undefined;
  wallMs: number;
}

export async function runModel(options: ModelRunOptions): Promise<ModelRunReport> {
  const started = Date.now();
  const firstSeed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const system = new ModelSystem();
  const tally = new CommandTally();
  let runs = 0;
  const property = fc.asyncProperty(
    fc.commands([modelCommands(options.weights ?? DEFAULT_WEIGHTS)], {
      maxCommands: options.maxCommandsPerRun ?? 800,
      size: 'max',
      ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
    }),
    async (commands) => {
      runs++;
      const model = new Model();
      model.openedAt = await system.startRun();
      const real: Real = { system, tally };
      await fc.asyncModelRun(() => ({ model, real }), commands);
    },
  );
  let failure: ModelRunFailure | undefined;
  try {
    for (let batch = 0; failure === undefined && tally.commands < options.commands; batch++) {
      const seed = firstSeed + batch;
      const details = await fc.check(property, {
        seed,
        numRuns: options.runsPerBatch ?? 5,
        endOnFailure: options.shrink === false,
        ...(options.path === undefined ? {} : { path: options.path }),
      });
      if (details.failed) {
        const error = details.errorInstance as Error | undefined;
        const shrunk = String(details.counterexample?.[0] ?? '');
        failure = {
          seed,
          path: details.counterexamplePath ?? '',
          replayPath: /replayPath="([^"]*)"/.exec(shrunk)?.[1],
          message: `${fc.defaultReportMessage(details) ?? 'failed'}\n${error?.stack ?? error?.message ?? String(error)}`,
        };
      }
      if (options.path !== undefined) break;
    }
  } finally {
    await system.dispose();
  }
  return { commands: tally.commands, runs, kills: system.kills, reopens: system.reopens, outcomes: tally.outcomes, failure, wallMs: Date.now() - started };
}
