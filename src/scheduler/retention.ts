/**
 * Retention: finished tasks are removed once they are older than their status's retention,
 * in the background, behind one timer armed for the earliest moment anything is due (never
 * an interval), in batches with a turn of the event loop between them, so a backlog of
 * 100k old rows costs many short pauses instead of one long one.
 *
 * What is due is known per status as "the oldest finished row + retention": read from the
 * store at start and after each sweep, and between sweeps lowered by notifyFinished, which
 * only compares two numbers (it runs for every finished task, so it never queries).
 */
import type { FinishedStatus, TaskStore } from '../store/task-store.js';

export interface Retention {
  /** How long (ms) completed tasks are kept; absent: forever. */
  completed?: number;
  failed?: number;
  cancelled?: number;
}

export interface RetentionDeps {
  store: Pick<TaskStore, 'sweep' | 'oldestFinished'>;
  retention: Retention;
  /** Rows removed per store call. @default 500 */
  batchSize?: number;
  now?: () => number;
  /** Runs before each sweep; the runtime flushes its pending writes, so the store sees every finished row. */
  beforeSweep?: () => Promise<void>;
  onError?(error: unknown): void;
}

const STATUSES: readonly FinishedStatus[] = ['completed', 'failed', 'cancelled'];
const DEFAULT_BATCH_SIZE = 500;
/** setTimeout cannot wait longer than this; a later due time is re-checked when it fires. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;
/** After a failed sweep, try again this much later rather than at once (no hot error loop). */
const RETRY_AFTER_MS = 60_000;

export class RetentionSweeper {
  readonly #store: RetentionDeps['store'];
  /** Only the statuses that have a retention; the others are never looked at. */
  readonly #keep = new Map<FinishedStatus, number>();
  readonly #batchSize: number;
  readonly #now: () => number;
  readonly #beforeSweep: (() => Promise<void>) | undefined;
  readonly #onError: (error: unknown) => void;

  /** Per status, when its oldest known finished row becomes due; absent: nothing known. */
  readonly #due = new Map<FinishedStatus, number>();
  /** What notifyFinished reported while a sweep ran: merged into the re-read due times. */
  readonly #notedWhileBusy = new Map<FinishedStatus, number>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** A sweep (or start's first read) is under way; it arms the timer when it ends. */
  #busy = false;
  #started = false;
  #tail: Promise<void> = Promise.resolve();
  #stopped = false;
  /** The pending yield between batches, so stop() can cancel it and let the sweep end. */
  #yield: { handle: NodeJS.Immediate; resume: () => void } | undefined;

  constructor(deps: RetentionDeps) {
    this.#store = deps.store;
    for (const status of STATUSES) {
      const ms = deps.retention[status];
      if (ms !== undefined) this.#keep.set(status, Math.max(0, ms));
    }
    this.#batchSize = Math.max(1, Math.floor(deps.batchSize ?? DEFAULT_BATCH_SIZE));
    this.#now = deps.now ?? Date.now;
    this.#beforeSweep = deps.beforeSweep;
    this.#onError = deps.onError ?? (() => {});
  }

  /** Reads the oldest finished row of each retained status and arms the timer. Once only. */
  start(): void {
    if (this.#started || this.#stopped || this.#keep.size === 0) return;
    this.#started = true;
    void this.#work(async () => {
      for (const status of this.#keep.keys()) await this.#reread(status);
    });
  }

  /** Called for every finished task: O(1), no store access, at most one timer change. */
  notifyFinished(status: FinishedStatus, completedAt: number): void {
    const keep = this.#keep.get(status);
    if (keep === undefined || this.#stopped) return;
    const at = completedAt + keep;
    if (this.#busy) this.#notedWhileBusy.set(status, Math.min(at, this.#notedWhileBusy.get(status) ?? at));
    const due = this.#due.get(status);
    // Something older of this status is already due earlier: the sweep that removes it
    // re-reads the oldest row, which finds this one then.
    if (due !== undefined && due <= at) return;
    this.#due.set(status, at);
    if (at < this.#timerAt) this.#arm();
  }

  /** Stops for good: clears the timer and ends a sweep under way after its current batch. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
    if (this.#yield !== undefined) {
      clearImmediate(this.#yield.handle);
      this.#yield.resume();
      this.#yield = undefined;
    }
    this.#due.clear();
    this.#notedWhileBusy.clear();
  }

  #arm(): void {
    this.#clearTimer();
    if (this.#busy || this.#stopped) return;
    let at = Number.POSITIVE_INFINITY;
    for (const due of this.#due.values()) at = Math.min(at, due);
    if (at === Number.POSITIVE_INFINITY) return;
    this.#timerAt = at;
    const wait = Math.min(LONGEST_WAIT_MS, Math.max(0, at - this.#now()));
    this.#timer = setTimeout(() => this.#fire(), wait);
    // Housekeeping must not keep a host alive that has nothing else to do (a CLI that
    // finished its work, a runtime left open by accident): rows left over are found by the
    // next start(), which reads the oldest row of each status from the store.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    void this.#work(async () => {
      if (this.#beforeSweep !== undefined) await this.#beforeSweep();
      // One cutoff per status for the whole sweep: rows finishing meanwhile are newer, so the
      // loop below ends even while tasks keep finishing.
      const now = this.#now();
      let first = true;
      for (const [status, keep] of this.#keep) {
        const due = this.#due.get(status);
        if (due === undefined || due > now) continue;
        for (;;) {
          if (!first) await this.#yieldToLoop();
          first = false;
          if (this.#stopped) return;
          const removed = await this.#store.sweep(status, now - keep, this.#batchSize);
          if (removed < this.#batchSize) break;
        }
        await this.#reread(status);
      }
    });
  }

  /**
   * Runs one piece of background work with the timer off, then arms it for what is due.
   * Pieces run one after another (start's first read and a sweep never interleave).
   */
  #work(body: () => Promise<void>): Promise<void> {
    this.#tail = this.#tail.then(() => this.#run(body));
    return this.#tail;
  }

  async #run(body: () => Promise<void>): Promise<void> {
    if (this.#stopped) return;
    this.#clearTimer();
    this.#busy = true;
    this.#notedWhileBusy.clear();
    try {
      await body();
    } catch (error) {
      if (this.#stopped) return; // the runtime is closing; its store may already be gone
      // The statuses due are retried later, not at once: a store that fails now (disk
      // full, locked) would likely fail again immediately.
      const retryAt = this.#now() + RETRY_AFTER_MS;
      for (const [status, due] of this.#due) if (due < retryAt) this.#due.set(status, retryAt);
      try {
        this.#onError(error);
      } catch {
        // A throwing handler must not break the chain of later sweeps.
      }
    } finally {
      this.#busy = false;
      this.#notedWhileBusy.clear();
      this.#arm();
    }
  }

  /** The status's due time from its oldest stored row, lowered by notifications meanwhile. */
  async #reread(status: FinishedStatus): Promise<void> {
    const oldest = await this.#store.oldestFinished(status);
    if (this.#stopped) return;
    const keep = this.#keep.get(status)!;
    const stored = oldest === null ? Number.POSITIVE_INFINITY : oldest + keep;
    // A row reported while the read ran may not have been written yet: keep its due time.
    const at = Math.min(stored, this.#notedWhileBusy.get(status) ?? Number.POSITIVE_INFINITY);
    if (at === Number.POSITIVE_INFINITY) this.#due.delete(status);
    else this.#due.set(status, at);
  }

  /** Lets I/O, timers and other callbacks run before the next batch. */
  #yieldToLoop(): Promise<void> {
    return new Promise((resolve) => {
      const handle = setImmediate(() => {
        this.#yield = undefined;
        resolve();
      });
      this.#yield = { handle, resume: resolve };
    });
  }
}
