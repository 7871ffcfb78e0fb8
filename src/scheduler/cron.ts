/**
 * Cron schedules: each firing of a schedule's expression (a tick) submits one task.
 *
 * - The store is the truth: every change and every tick is written before it counts, so a
 *   restarted host picks the schedules up where they were (start()).
 * - Each tick fires once, across every host that shares the store: a host that finds a tick
 *   due first claims it in the store (a compare-and-set on the schedule's next time, which
 *   the claim moves on), and only the host whose claim wins submits the tick's task. A host
 *   that loses reads the schedule again: another host fired that tick, or changed it.
 * - One timer, armed for the earliest due schedule; never an interval, never a timer per
 *   schedule. Schedules are few, so finding the earliest is a scan, not a heap. When it
 *   fires, the schedules are read again, so what other hosts added, changed or removed
 *   counts; a shared store also tells of their changes as they happen (ScheduleStore.watch).
 *   The SQLite store, which one host owns, is never polled.
 * - A tick's next time is computed from the time it actually ran, so a schedule that was due
 *   while every host was down runs once when one comes back, never a burst of catch-up runs.
 * - Without `overlap`, a tick whose previous task is still unfinished submits nothing (it is
 *   skipped: its time moves on, lastTaskId stays).
 * - A `timezone` is kept among the schedule's stored options (not a column of its own), so
 *   every host that reads the schedule, and a restarted one, reads the expression in the
 *   same zone; it is taken out of the options before they reach a tick's submit.
 */
import { InvalidOptionError } from '../errors.js';
import type { ScheduleRecord, ScheduleStore } from '../store/schedule-store.js';
import type { SubmitOptions } from '../types.js';
import { parseCron, type CronExpression } from './cron-expression.js';

/** setTimeout cannot wait longer than this; a later schedule is re-checked when it fires. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

/** After the store failed a tick, the next try waits this long, doubling up to RETRY_LAST_MS. */
const RETRY_FIRST_MS = 1000;
const RETRY_LAST_MS = 60_000;

/**
 * What `schedule` and `list` report: the stored schedule without its bookkeeping times, its
 * `options` being those each tick's task is submitted with, and its zone apart.
 */
export type ScheduleInfo = Omit<ScheduleRecord, 'createdAt' | 'updatedAt'> & {
  /** The IANA zone the expression is read in, or null for each host's local zone. */
  timezone: string | null;
};

/**
 * The submit options each tick's task gets, plus `overlap` and `timezone`. Kept as JSON, so
 * plain values only; no `runAt`: a tick's task runs at its tick.
 */
export type ScheduleOptions = Omit<SubmitOptions, 'runAt'> & {
  /** Submit a tick's task even while the previous tick's task is unfinished. @default false */
  overlap?: boolean;
  /**
   * The IANA time zone (e.g. 'Europe/Berlin') the expression's wall-clock times are read in.
   * @default the host's local zone
   */
  timezone?: string;
};

/** Where a stored schedule keeps its zone: among its options, which are JSON. */
const TIMEZONE_KEY = 'timezone';

/** One tick this host fired, as reported to `onTick` (a tick another host fired is not). */
export interface CronTick {
  name: string;
  at: number;
  /** The task submitted, or null when the tick was skipped. */
  taskId: string | null;
  skipped: boolean;
}

export interface CronSchedulerDeps {
  store: ScheduleStore;
  /** Submits a tick's task (the runtime's submit). */
  submit(type: string, payload: unknown, options: object | undefined): Promise<{ id: string }>;
  /**
   * Whether a task is queued, running or paused (false for an unknown id), wherever it is:
   * with a shared store, the previous tick's task may be another host's.
   */
  isUnfinished(taskId: string): boolean | Promise<boolean>;
  /** Rejects what submit would reject (unknown type, bad options), before anything is stored. */
  validate?(type: string, payload: unknown, options: object | undefined): void | Promise<void>;
  /** @default Date.now */
  now?: () => number;
  /** A tick that failed (its submit threw, or the store failed and no `health` is given). @default process.emitWarning */
  onError?(error: unknown): void;
  /**
   * Told when the store fails a run of due ticks and when one works again: the host hears
   * once per episode, not once per try.
   */
  health?: { failing(source: 'schedules', error: unknown): void; working(source: 'schedules'): void };
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
  /** The schedules as last read from the store (or written by this host), by name. */
  #live = new Map<string, Live>();
  /** Stored schedules whose expression does not parse, by name: each is reported once. */
  readonly #broken = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Stops the store's change notifications (a shared store only). */
  #unwatch: (() => Promise<void>) | undefined;
  /** A re-read the store's notification asked for is queued and has not begun. */
  #reloadQueued = false;
  /** Runs of due ticks in a row that the store failed: the next try waits longer. */
  #storeFailures = 0;
  /** Changes and ticks run one at a time, so a tick never reads a schedule half changed. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(deps: CronSchedulerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#onError = deps.onError ?? ((e) => process.emitWarning(e instanceof Error ? e : String(e)));
  }

  /**
   * Loads the stored schedules and arms the timer. One that was due while every host was
   * down fires at once (on the host that claims it first). With a shared store, listens for
   * the other hosts' changes first, so none made while loading is missed.
   */
  start(): Promise<void> {
    return this.#serial(async () => {
      this.#stopped = false;
      const { store } = this.#deps;
      if (this.#unwatch === undefined && store.watch !== undefined) {
        this.#unwatch = await store.watch(() => this.#changed());
      }
      await this.#reload();
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
    const { overlap, timezone, submitOptions } = splitOptions(options);
    const expr = parseCron(cron, timezone);
    if (expr.nextAfter(this.#now()) === null) {
      throw new InvalidOptionError('cron', `"${cron}" never fires again`);
    }
    requireName('type', type);
    await this.#deps.validate?.(type, payload, submitOptions ?? undefined);
    return this.#serial(async () => {
      const { store } = this.#deps;
      const now = this.#now();
      // Replacing a schedule, the store keeps its createdAt, lastRunAt and lastTaskId.
      const saved: ScheduleRecord = {
        name,
        cron,
        type,
        payload,
        options: timezone === undefined ? submitOptions : { ...submitOptions, [TIMEZONE_KEY]: timezone },
        overlap,
        nextRunAt: expr.nextAfter(now),
        lastRunAt: null,
        lastTaskId: null,
        createdAt: now,
        updatedAt: now,
      };
      await store.save(saved);
      // Read back: ticks then submit what a restart would, not the caller's (mutable) objects.
      const record = await store.get(name);
      this.#broken.delete(name);
      if (record === undefined) this.#live.delete(name); // another host removed it meanwhile
      else this.#live.set(name, { record, expr });
      this.#arm();
      return scheduleInfo(record ?? saved);
    });
  }

  /** Whether a schedule of that name existed. Tasks it already submitted are left alone. */
  unschedule(name: string): Promise<boolean> {
    return this.#serial(async () => {
      this.#live.delete(name);
      this.#broken.delete(name);
      const removed = await this.#deps.store.remove(name);
      this.#arm();
      return removed;
    });
  }

  /**
   * Submits the schedule's task now, outside its ticks (a "run now" button): its next tick
   * stays where it was, and the run is recorded as its last, so a schedule without
   * `overlap` waits for this task before its next tick starts another. Resolves to what
   * `submit` gave for the task, or undefined when there is no such schedule.
   */
  runNow(name: string): Promise<{ id: string } | undefined> {
    requireName('name', name);
    return this.#serial(async () => {
      const { store } = this.#deps;
      const record = await store.get(name);
      if (record === undefined) return undefined;
      return this.#submitRun(this.#live.get(name)?.record ?? record, this.#now(), record);
    });
  }

  /** Every stored schedule, by name. */
  list(): Promise<ScheduleInfo[]> {
    return this.#serial(async () => (await this.#deps.store.list()).map(scheduleInfo));
  }

  /**
   * What the timer does when it fires: reads the schedules again, fires each tick due by
   * now that this host claims, and arms the timer for the next. Nothing after stop().
   */
  runDue(): Promise<void> {
    return this.#serial(() => this.#runDue());
  }

  /**
   * Clears the timer; no tick starts after this. Resolves once a tick under way has ended
   * and the store's notifications are closed. Idempotent; start() resumes.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#serial(async () => {
      const unwatch = this.#unwatch;
      this.#unwatch = undefined;
      await unwatch?.();
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Another host changed the schedules: read them again (once for a burst of changes). */
  #changed(): void {
    if (this.#stopped || this.#reloadQueued) return;
    this.#reloadQueued = true;
    this.#serial(async () => {
      this.#reloadQueued = false;
      if (this.#stopped) return;
      await this.#reload();
      this.#arm();
    }).catch(this.#onError);
  }

  /**
   * Reads every schedule from the store; the timer is armed by the caller. Schedules known
   * already keep their place, new ones come after: ticks due at the same time fire in the
   * order this host learned of their schedules.
   */
  async #reload(): Promise<void> {
    const records = new Map((await this.#deps.store.list()).map((record) => [record.name, record]));
    const live = new Map<string, Live>();
    for (const name of [...this.#live.keys(), ...records.keys()]) {
      const record = records.get(name);
      if (record === undefined || live.has(name)) continue;
      const expr = this.#parse(record);
      if (expr !== undefined) live.set(name, { record, expr });
    }
    this.#live = live;
  }

  /** Reads one schedule again, after this host lost the claim of its tick. */
  async #reread(name: string): Promise<void> {
    const record = await this.#deps.store.get(name);
    const expr = record && this.#parse(record);
    if (expr === undefined) this.#live.delete(name);
    else this.#live.set(name, { record: record!, expr });
  }

  #parse(record: ScheduleRecord): CronExpression | undefined {
    const known = this.#live.get(record.name);
    const zone = timezoneOf(record);
    if (known !== undefined && known.record.cron === record.cron && timezoneOf(known.record) === zone) {
      return known.expr;
    }
    const key = zone === undefined ? record.cron : `${record.cron} (${String(zone)})`;
    try {
      const expr = parseCron(record.cron, zone);
      this.#broken.delete(record.name);
      return expr;
    } catch (error) {
      // Stored by a version that accepted it; the others still run.
      if (this.#broken.get(record.name) !== key) this.#onError(error);
      this.#broken.set(record.name, key);
      return undefined;
    }
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
    let wait = Math.max(0, at - this.#now());
    if (this.#storeFailures > 0) {
      wait = Math.max(wait, Math.min(RETRY_LAST_MS, RETRY_FIRST_MS * 2 ** (this.#storeFailures - 1)));
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.runDue().catch(this.#onError);
    }, Math.min(LONGEST_WAIT_MS, wait));
  }

  async #runDue(): Promise<void> {
    if (this.#stopped) return;
    let storeError: unknown;
    try {
      try {
        // Other hosts may have added, changed, fired or removed schedules since the last read.
        await this.#reload();
      } catch (error) {
        storeError = error;
        return;
      }
      const now = this.#now();
      const due = [...this.#live.values()]
        .filter(({ record }) => record.nextRunAt !== null && record.nextRunAt <= now)
        .sort((a, b) => a.record.nextRunAt! - b.record.nextRunAt!);
      for (const live of due) {
        if (this.#stopped) return;
        try {
          await this.#tick(live, now);
        } catch (error) {
          if (error instanceof StoreFailure) storeError ??= error.cause;
          else this.#onError(error);
        }
      }
    } finally {
      // A store that fails leaves due schedules due: without a pause the timer would fire
      // again at once, in a loop, for as long as the store is down.
      this.#storeFailures = storeError === undefined ? 0 : this.#storeFailures + 1;
      const { health } = this.#deps;
      if (storeError === undefined) health?.working('schedules');
      else if (health !== undefined) health.failing('schedules', storeError);
      else this.#onError(storeError);
      this.#arm();
    }
  }

  /**
   * Claim, then submit. The claim is the write that makes the tick count: whichever host
   * wins it is the only one to submit, so the tick's task is submitted at most once across
   * the hosts. Submitting first and claiming after would let two hosts both submit.
   *
   * The other side of that order: a tick whose submit fails after the claim (the runtime is
   * closing, the task store refused the task) or whose host stops between the two is lost,
   * not fired again. It moves on as a failed submit always has here, instead of retrying in
   * a loop; the next tick fires as usual. The task's id is recorded in a second write once
   * the submit resolves (the task is stored by then), for `overlap` and `schedules()`; if
   * that write fails, the task stands and only the record of it is missing.
   */
  /**
   * Submits the schedule's task and records the run as its last, on the stored row and on
   * `record` (the schedule as this host holds it). `template` is what is submitted: the
   * stored schedule, when `record` may be older. `submittedAs` hears of the task even if
   * recording the run fails: it was submitted all the same.
   */
  async #submitRun(record: ScheduleRecord, now: number, template = record, submittedAs?: (taskId: string) => void): Promise<{ id: string }> {
    const submitted = await this.#deps.submit(template.type, template.payload, submitOptionsOf(template) ?? undefined);
    const run = { lastRunAt: now, lastTaskId: submitted.id, updatedAt: now };
    Object.assign(record, run);
    try {
      await this.#deps.store.recordRun(template.name, run);
    } finally {
      submittedAs?.(submitted.id);
    }
    return submitted;
  }

  async #tick({ record, expr }: Live, now: number): Promise<void> {
    const { store } = this.#deps;
    const { name } = record;
    let claimed: ScheduleRecord | undefined;
    try {
      // From `now`, not from the missed time: one run, not a burst.
      const seen = { cron: record.cron, nextRunAt: record.nextRunAt! };
      claimed = await store.claimTick(name, seen, { nextRunAt: expr.nextAfter(now), updatedAt: now });
    } catch (error) {
      throw new StoreFailure(error);
    }
    if (claimed === undefined) {
      // Another host fired this tick first, or changed or removed the schedule.
      await this.#reread(name);
      return;
    }
    // The schedule as the claim found it: another host may have replaced its type, payload or
    // zone. (A zone changed with the same expression and the same next time passes the claim;
    // the next time it wrote came from the old zone, and the ticks after it from the new.)
    const current = timezoneOf(claimed) === timezoneOf(record) ? expr : this.#parse(claimed);
    if (current === undefined) {
      this.#live.delete(name);
      return;
    }
    this.#live.set(name, { record: claimed, expr: current });
    if (!claimed.overlap && claimed.lastTaskId !== null && (await this.#deps.isUnfinished(claimed.lastTaskId))) {
      this.#deps.onTick?.({ name, at: now, taskId: null, skipped: true });
      return;
    }
    await this.#submitRun(claimed, now, claimed, (taskId) => this.#deps.onTick?.({ name, at: now, taskId, skipped: false }));
  }
}

/** A store call of a tick failed (as opposed to its submit): the timer backs off. */
class StoreFailure extends Error {
  constructor(cause: unknown) {
    super('the schedule store failed', { cause });
  }
}

function requireName(option: 'name' | 'type', value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') {
    const got = typeof value === 'string' ? 'an empty string' : `${String(value)} (${typeof value})`;
    throw new InvalidOptionError(option, `expected a non-empty string, got ${got}`);
  }
}

/**
 * Separates `overlap` and `timezone` from the submit options and checks that the submit
 * options survive being kept as JSON. The zone is checked by parseCron.
 */
function splitOptions(options: ScheduleOptions | undefined): {
  overlap: boolean;
  timezone: unknown;
  submitOptions: object | null;
} {
  if (options === undefined) return { overlap: false, timezone: undefined, submitOptions: null };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', `expected an object, got ${String(options)} (${typeof options})`);
  }
  const { overlap = false, timezone, ...rest } = options as { overlap?: unknown; timezone?: unknown; runAt?: unknown };
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
  return { overlap, timezone, submitOptions: json === '{}' ? null : (JSON.parse(json) as object) };
}

/** The zone a stored schedule is read in, or undefined for the host's local zone. */
function timezoneOf(r: ScheduleRecord): unknown {
  return r.options === null ? undefined : (r.options as Record<string, unknown>)[TIMEZONE_KEY];
}

/** A stored schedule's options without its zone: what each tick's task is submitted with. */
function submitOptionsOf(r: ScheduleRecord): object | null {
  if (r.options === null) return null;
  const { [TIMEZONE_KEY]: _zone, ...rest } = r.options as Record<string, unknown>;
  return Object.keys(rest).length === 0 ? null : rest;
}

/** A stored schedule as `schedules()` reports it. */
export function scheduleInfo(r: ScheduleRecord): ScheduleInfo {
  return {
    name: r.name,
    cron: r.cron,
    type: r.type,
    payload: r.payload,
    options: submitOptionsOf(r),
    overlap: r.overlap,
    timezone: (timezoneOf(r) as string | undefined) ?? null,
    nextRunAt: r.nextRunAt,
    lastRunAt: r.lastRunAt,
    lastTaskId: r.lastTaskId,
  };
}
