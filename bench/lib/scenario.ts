/** What a scenario is, what it reports, and the round-robin loop most of them share. */
import { Unavailable, type Contender } from './contender.js';
import { Samples, collectGarbage, type Metric } from './stats.js';

/** Every scenario runs its contenders on this many threads. */
export const THREADS = 2;

export interface RunContext {
  rounds: number;
  /** Smaller sizes, for a smoke run. */
  quick: boolean;
  /** Progress to stderr (tables go to stdout). */
  log(line: string): void;
}

export interface Column {
  key: string;
  label: string;
  digits?: number;
}

export interface Goal {
  text: string;
  met: boolean;
}

export interface Row {
  name: string;
  metrics: Record<string, Metric>;
  /** Against the scenario's baseline row (its `ratioOf` metric, medians). */
  ratio?: number;
  goal?: Goal;
  /** Why the row has no figures: a contender unavailable here, or one that failed. */
  skipped?: string;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  columns: Column[];
  /** What `ratio` is, e.g. "tasks/s vs raw piscina". */
  ratioLabel?: string;
  /** The goal the scenario is judged against, in words. */
  goal?: string;
  rows: Row[];
  notes: string[];
}

export interface Scenario {
  name: string;
  summary: string;
  run(ctx: RunContext): Promise<ScenarioResult>;
}

/**
 * Rejects if `promise` has not settled within `ms`. The timer is ref'd on purpose: a
 * contender whose promise never settles (and holds nothing open) would otherwise end the
 * whole process with "unsettled top-level await" (exit code 13).
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Writes "still running" to stderr every 10 s while `fn` runs, so long runs show they are alive. */
export async function heartbeat<T>(ctx: RunContext, label: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const timer = setInterval(() => ctx.log(`  ${label}: still running (${Math.round((Date.now() - start) / 1000)} s)`), 10_000);
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export interface RoundRobin {
  samples: Samples;
  /** Contender names in registry order. */
  names: string[];
  skipped: Map<string, string>;
}

/**
 * Each round sets up, measures and tears down every contender in turn (the starting one
 * rotating, so no contender always follows the same neighbour), so all see the same noise.
 * `measure` adds its samples and returns a short summary for the progress line.
 * Before the contenders, each round may measure something of its own (`beforeRound`).
 */
export async function roundRobin(
  ctx: RunContext,
  scenario: string,
  factories: Array<() => Contender>,
  measure: (c: Contender, add: (metric: string, value: number) => void) => Promise<string>,
  beforeRound?: (samples: Samples) => Promise<string>,
  measureTimeoutMs = 180_000,
): Promise<RoundRobin> {
  const samples = new Samples();
  const names = factories.map((f) => f().name);
  const skipped = new Map<string, string>();
  for (let round = 1; round <= ctx.rounds; round++) {
    const parts: string[] = [];
    if (beforeRound) parts.push(await beforeRound(samples));
    for (let k = 0; k < factories.length; k++) {
      const i = (k + round - 1) % factories.length;
      const contender = factories[i]!();
      const name = names[i]!;
      if (skipped.has(name)) continue;
      collectGarbage();
      if (process.env.BENCH_VERBOSE) ctx.log(`  ${scenario} round ${round}: ${name}`);
      try {
        await within(contender.setup(THREADS), 60_000, 'setup');
      } catch (error) {
        skipped.set(name, error instanceof Unavailable ? `skipped: ${error.message}` : `failed in setup: ${errorText(error)}`);
        ctx.log(`  ${scenario}: ${name} ${skipped.get(name)}`);
        await within(contender.teardown(), 30_000, 'teardown').catch(() => undefined);
        continue;
      }
      try {
        const summary = await heartbeat(ctx, `${scenario} round ${round}/${ctx.rounds}, ${name}`, () =>
          within(measure(contender, (metric, value) => samples.add(name, metric, value)), measureTimeoutMs, 'the measurement'),
        );
        parts.push(`${name} ${summary}`);
      } catch (error) {
        skipped.set(name, `failed: ${errorText(error)}`);
        ctx.log(`  ${scenario}: ${name} ${skipped.get(name)}`);
      } finally {
        await within(contender.teardown(), 30_000, 'teardown').catch((error) => ctx.log(`  ${scenario}: ${name} teardown failed: ${errorText(error)}`));
      }
    }
    ctx.log(`${scenario}: round ${round}/${ctx.rounds}: ${parts.join('; ')}`);
  }
  return { samples, names, skipped };
}

export interface RowOptions {
  baseline?: string;
  /** The metric the ratio compares (its medians). */
  ratioOf?: string;
  goal?: (name: string, metrics: Record<string, Metric>, ratio: number | undefined) => Goal | undefined;
}

/** Rows in the given order; a contender that never measured carries its reason instead. */
export function toRows(rr: Pick<RoundRobin, 'samples' | 'skipped'>, names: string[], options: RowOptions = {}): Row[] {
  const base = options.baseline && options.ratioOf ? rr.samples.metrics(options.baseline)[options.ratioOf]?.median : undefined;
  return names.map((name) => {
    const metrics = rr.samples.metrics(name);
    const reason = rr.skipped.get(name);
    if (!rr.samples.has(name)) return { name, metrics, skipped: reason ?? 'no samples' };
    const value = options.ratioOf ? metrics[options.ratioOf]?.median : undefined;
    const ratio = base !== undefined && value !== undefined ? value / base : undefined;
    const row: Row = { name, metrics };
    if (ratio !== undefined) row.ratio = ratio;
    const goal = options.goal?.(name, metrics, ratio);
    if (goal) row.goal = goal;
    // A contender that failed in a later round keeps its figures, with the failure noted.
    if (reason) row.skipped = reason;
    return row;
  });
}
