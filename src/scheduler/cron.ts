/**
 * Cron schedules: each firing of a schedule's expression (a tick) submits one task.
 *
 * - The store is the truth: every change and every tick is written before it counts, so a
 *   restarted host picks the schedules up where they were (start()).
 * - One timer, armed for the earliest due schedule; never an interval, never a timer per
 *   schedule. Schedules are few, so finding the earliest is a scan, not a heap.
 * - A tick's next time is computed from the time it actually ran, so a schedule that was due
 *   while the host was down runs once when it comes back, never a burst of catch-up runs.
 * - Without `overlap`, a tick whose previous task is still unfinished submits nothing (it is
 *   skipped: its time moves on, lastTaskId stays).
 */
import { InvalidOptionError } from '../errors.js';
import type { ScheduleRecord, ScheduleStore } from '../store/schedule-store.js';
import type { SubmitOptions } from '../types.js';
import { parseCron, type CronExpression } from './cron-expression.js';

/** setTimeout cannot wait longer than this; a later schedule is re-checked when it fires. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

/** What `schedule` and `list` report: the stored schedule without its bookkeeping times. */
export type ScheduleInfo = Omit<ScheduleRecord, 'createdAt' | 'updatedAt'>;

/**
 * The submit options each tick's task gets, plus `overlap`. Kept as JSON, so plain values
 * only; no `runAt`: a tick's task runs at its tick.
 */
export type ScheduleOptions = Omit<SubmitOptions, 'runAt'> & {
  /** Submit a tick's task even while the previous tick's task is unfinished. @default false */
  overlap?: boolean;
};

/** One tick, as reported to `onTick`. */
export interface CronTick {
  name: string;
  at: number;
  /** The task submitted, or null when the tick was skipped or its submit failed. */
  taskId: string | null;
  skipped: boolean;
}

export interface CronSchedulerDeps {
  store: ScheduleStore;
  /** Submits a tick's task (the runtime's submit). */
  submit(type: string, payload: unknown, options: object | undefined): Promise<{ id: string }>;
  /** Whether a task is queued, running or paused (false for an unknown id). */
  isUnfinished(taskId: string): boolean | Promise<boolean>;
  /** Rejects what submit would reject (unknown type, bad options), before anything is stored. */
  validate?(type: string, payload: unknown, options: object | undefined): void | Promise<void>;
  /** @default Date.now */
  now?: () => number;
  /** A tick that failed (its submit threw, the store failed). @default process.emitWarning */
  onError?(error: unknown): void;
  onTick?(tick: CronTick): void;
}

interface Live {
  record: ScheduleRecord;
  expr: CronExpression;
}

export class CronScheduler {
  readonly #deps: CronSchedulerDeps;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #live = new Map<string, Live>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Changes and ticks run one at a time, so a tick never reads a schedule half changed. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(deps: CronSchedulerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#onError = deps.onError ?? ((e) => process.emitWarning(e instanceof Error ? e : String(e)));
  }

  /** Loads the stored schedules and arms the timer. One that was due while down fires at once. */
  start(): Promise<void> {
    return this.#serial(async () => {
      this.#stopped = false;
      this.#live.clear();
      for (const record of await this.#deps.store.list()) {
        try {
          this.#live.set(record.name, { record, expr: parseCron(record.cron) });
        } catch (error) {
          // Stored by a version that accepted it; the others still run.
          this.#onError(error);
        }
      }
      this.#arm();
    });
  }

  /**
   * Adds a schedule, or replaces the one of that name (its last run is kept, so `overlap`
   * still sees the task it submitted). Throws InvalidOptionError (ERR_INVALID_OPTION) for a
   * bad name, cron expression, type or options, and NotCloneableError for a payload that
   * cannot be stored; nothing is stored then.
   */
  async schedule(
    name: string,
    cron: string,
    type: string,
    payload?: unknown,
    options?: ScheduleOptions,
  ): Promise<ScheduleInfo> {
    requireName('name', name);
    const expr = parseCron(cron);
    if (expr.nextAfter(this.#now()) === null) {
      throw new InvalidOptionError('cron', `"${cron}" never fires again`);
    }
    requireName('type', type);
    const { overlap, submitOptions } = splitOptions(options);
    await this.#deps.validate?.(type, payload, submitOptions ?? undefined);
    return this.#serial(async () => {
      const { store } = this.#deps;
      const now = this.#now();
      const old = this.#live.get(name)?.record ?? (await store.get(name));
      await store.save({
        name,
        cron,
        type,
        payload,
        options: submitOptions,
        overlap,
        nextRunAt: expr.nextAfter(now),
        lastRunAt: old?.lastRunAt ?? null,
        lastTaskId: old?.lastTaskId ?? null,
        createdAt: old?.createdAt ?? now,
        updatedAt: now,
      });
      // Read back: ticks then submit what a restart would, not the caller's (mutable) objects.
      const record = (await store.get(name))!;
      this.#live.set(name, { record, expr });
      this.#arm();
      return scheduleInfo(record);
    });
  }

  /** Whether a schedule of that name existed. Tasks it already submitted are left alone. */
  unschedule(name: string): Promise<boolean> {
    return this.#serial(async () => {
      this.#live.delete(name);
      const removed = await this.#deps.store.remove(name);
      this.#arm();
      return removed;
    });
  }

  /** Every stored schedule, by name. */
  list(): Promise<ScheduleInfo[]> {
    return this.#serial(async () => (await this.#deps.store.list()).map(scheduleInfo));
  }

  /** Clears the timer; no tick starts after this. Idempotent; start() resumes. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    let at = Number.POSITIVE_INFINITY;
    for (const { record } of this.#live.values()) {
      if (record.nextRunAt !== null && record.nextRunAt < at) at = record.nextRunAt;
    }
    if (at === Number.POSITIVE_INFINITY) return;
    const wait = Math.min(LONGEST_WAIT_MS, Math.max(0, at - this.#now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#serial(() => this.#runDue()).catch(this.#onError);
    }, wait);
  }

  async #runDue(): Promise<void> {
    try {
      const now = this.#now();
      const due = [...this.#live.values()]
        .filter(({ record }) => record.nextRunAt !== null && record.nextRunAt <= now)
        .sort((a, b) => a.record.nextRunAt! - b.record.nextRunAt!);
      for (const live of due) {
        if (this.#stopped) return;
        try {
          await this.#tick(live, now);
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#arm();
    }
  }

  async #tick({ record, expr }: Live, now: number): Promise<void> {
    let taskId: string | null = null;
    let skipped = false;
    try {
      if (!record.overlap && record.lastTaskId !== null && (await this.#deps.isUnfinished(record.lastTaskId))) {
        skipped = true;
      } else {
        const options = record.options === null ? undefined : { ...record.options };
        taskId = (await this.#deps.submit(record.type, record.payload, options)).id;
      }
    } finally {
      // The time moves on even when the submit failed: trying again at once would fail the
      // same way, in a loop. From `now`, not from the missed time: one run, not a burst.
      if (taskId !== null) {
        record.lastRunAt = now;
        record.lastTaskId = taskId;
      }
      record.nextRunAt = expr.nextAfter(now);
      record.updatedAt = now;
      await this.#deps.store.markRun(record.name, record);
    }
    this.#deps.onTick?.({ name: record.name, at: now, taskId, skipped });
  }
}

function requireName(option: 'name' | 'type', value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') {
    const got = typeof value === 'string' ? 'an empty string' : `${String(value)} (${typeof value})`;
    throw new InvalidOptionError(option, `expected a non-empty string, got ${got}`);
  }
}

/** Separates `overlap` from the submit options and checks both survive being kept as JSON. */
function splitOptions(options: ScheduleOptions | undefined): { overlap: boolean; submitOptions: object | null } {
  if (options === undefined) return { overlap: false, submitOptions: null };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', `expected an object, got ${String(options)} (${typeof options})`);
  }
  const { overlap = false, ...rest } = options as { overlap?: unknown; runAt?: unknown };
  if (typeof overlap !== 'boolean') {
    throw new InvalidOptionError('overlap', `expected a boolean, got ${String(overlap)} (${typeof overlap})`);
  }
  if ('runAt' in rest && rest.runAt !== undefined) {
    throw new InvalidOptionError('runAt', 'a scheduled task runs at its tick; runAt cannot be set on a schedule');
  }
  let json: string;
  try {
    json = JSON.stringify(rest);
  } catch (error) {
    throw new InvalidOptionError('options', `cannot be stored as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { overlap, submitOptions: json === '{}' ? null : (JSON.parse(json) as object) };
}

/** A stored schedule as `schedules()` reports it. */
export function scheduleInfo(r: ScheduleRecord): ScheduleInfo {
  return {
    name: r.name,
    cron: r.cron,
    type: r.type,
    payload: r.payload,
    options: r.options,
    overlap: r.overlap,
    nextRunAt: r.nextRunAt,
    lastRunAt: r.lastRunAt,
    lastTaskId: r.lastTaskId,
  };
}
