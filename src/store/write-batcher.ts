/**
 * Group commit: every write of one turn of the event loop goes to the store in one
 * transaction (better-sqlite3 does ~78k autocommits/s but ~790k rows/s in batches).
 *
 * Acknowledgements (a submit, a finished task someone awaits) wait for the commit of their
 * batch through `ack()`; everything else (progress, start times) just rides along. Commits never overlap:
 * a batch waits for the one before it, so the store sees writes in the order they were made.
 */
import { nextTurn } from '../turns.js';
import type { TaskEvent } from '../types.js';
import type { NewTaskRecord, TaskPatch, TaskStore, WriteBatch } from './task-store.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function emptyBatch(): WriteBatch {
  return { inserts: [], payloads: [], changes: [], patches: new Map(), events: [] };
}

export interface WriteBatcherOptions {
  /**
   * Told when a commit fails after the ones before it succeeded: once per episode of
   * failures, not per batch (each batch's acks are rejected or kept all the same).
   */
  onFailing?(error: unknown, batch: WriteBatch): void;
  /** Told when a commit succeeds after failures (the end of an episode that onFailing told). */
  onRecovered?(): void;
  /**
   * Whether a failed commit is to be tried again (a server that cannot be reached for a
   * while): its acks are rejected all the same (a submit must say its task is not stored),
   * but the changes of the tasks this host holds, and their events, are kept and written
   * once the store is back, with backoff. Its new rows are not: their submits were told.
   */
  retryable?(error: unknown): boolean;
  /**
   * Whether a failed commit is kept whole and committed again later, its acks waiting for
   * it (a full disk, an I/O error of a store this host owns): a submit already accepted,
   * or a result, resolves once its write is in, never before. Meanwhile `refusal` says why
   * new work is turned away, so what waits in memory is bounded by what was accepted.
   */
  keepable?(error: unknown): boolean;
  /**
   * How long a batch without new rows waits for more before it is committed (0: not at all).
   * A shared store pays a commit's fsync and notifications with CPU the worker threads would
   * otherwise have; tasks that end one at a time then share commits. New rows (submits) never
   * wait, and neither does a flush (a read, a close).
   */
  lingerMs?: number;
}

/** Backoff between commits while the store is away: doubling from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;

/** Inserts per transaction in a burst of submits (~3 ms of SQLite here). */
const SEAL_ROWS = 1000;
/** A slot is generation * SLOTS_PER_BATCH + index: exact in a double for 2^29 batches of up to 16M rows. */
const SLOTS_PER_BATCH = 2 ** 24;

export class WriteBatcher {
  private batch: WriteBatch = emptyBatch();
  private batchAck: Deferred | undefined;
  /** Told whether the current batch was stored (see afterCommit). */
  private batchCallbacks: Array<(failure?: unknown) => void> = [];
  private scheduled = false;
  private previous: Promise<void> = Promise.resolve();
  private holds = 0;
  /** Counts the batches taken for commit: part of a slot, so an old slot is recognised. */
  private generation = 0;
  /** Commits started and not yet settled. */
  private committing = 0;

  /** Since a commit failed, and until one succeeds: one failure told per episode, not one per batch. */
  private failing = false;
  /** Set while waiting to try again after the store was away (see retryable). */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 0;

  private readonly onFailing: (error: unknown, batch: WriteBatch) => void;
  private readonly onRecovered: () => void;
  private readonly retryable: (error: unknown) => boolean;
  private readonly lingerMs: number;
  private readonly keepable: (error: unknown) => boolean;

  constructor(
    private readonly store: TaskStore,
    options: WriteBatcherOptions = {},
  ) {
    this.onFailing = options.onFailing ?? (() => {});
    this.onRecovered = options.onRecovered ?? (() => {});
    this.retryable = options.retryable ?? (() => false);
    this.lingerMs = options.lingerMs ?? 0;
    this.keepable = options.keepable ?? (() => false);
  }

  /** Acks of kept batches: resolved with the commit that finally writes them. */
  private carried: Deferred[] = [];
  /** The error that made a kept batch wait, until a commit succeeds. */
  private keptError: unknown;
  /** Set by stopRetrying (the store is closing): failures are no longer kept. */
  private stopping = false;

  /** Why new writes are refused now (a kept batch waits for the store), or undefined. */
  get refusal(): unknown {
    return this.keptError;
  }

  /** Before the last flush at close: a failure is reported, no longer kept and retried. */
  stopRetrying(): void {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private lingerTimer: NodeJS.Timeout | undefined;

  /**
   * Queues a new row: `record` (read, never written: it may be the scheduler's own task) with
   * the payload to store. The batch keeps the payload, and any changes `patch` merges into
   * the row, beside the record until the row is written; then the whole batch is dropped.
   * Returns where the row waits (see `patch`): valid until its batch is taken for commit,
   * which `patch` recognises by itself.
   */
  insert(record: NewTaskRecord, storedPayload: unknown): number {
    const batch = this.batch;
    const index = batch.inserts.push(record) - 1;
    batch.payloads.push(storedPayload);
    batch.changes.push(undefined);
    const slot = index < SLOTS_PER_BATCH ? this.generation * SLOTS_PER_BATCH + index : -1;
    // A burst of separate submits (a loop of 100k) is cut into transactions of SEAL_ROWS:
    // each resolves its own submits when it commits, so 100k promises do not all resolve in
    // one turn of the event loop. A held batch (one submitMany) is never cut.
    if (index + 1 >= SEAL_ROWS && this.holds === 0) this.commit();
    else this.schedule();
    return slot;
  }

  /**
   * Merges into any change of the same task already waiting in this batch. Given the slot
   * `insert` returned, a task whose row is still waiting to be written gets the change
   * merged into that row instead: one INSERT, no UPDATE.
   */
  patch(id: string, patch: TaskPatch, slot = -1): void {
    if (slot >= 0 && Math.floor(slot / SLOTS_PER_BATCH) === this.generation) {
      const index = slot % SLOTS_PER_BATCH;
      if (patch.payload !== undefined) {
        // A new payload (debounce) for a row not yet written: the INSERT writes it.
        this.batch.payloads[index] = patch.payload;
        delete patch.payload;
      }
      const changes = this.batch.changes[index];
      // Patches are fresh objects made for the batcher (as in the map below): kept as they are.
      if (changes === undefined) this.batch.changes[index] = patch;
      else Object.assign(changes, patch);
      this.schedule();
      return;
    }
    const waiting = this.batch.patches.get(id);
    if (waiting === undefined) this.batch.patches.set(id, patch);
    else Object.assign(waiting, patch);
    this.schedule();
  }

  /**
   * An event for the other hosts of a shared queue: it goes with the batch that holds the
   * change it tells of (or a later one), and is told once that batch is committed.
   */
  publish(event: TaskEvent): void {
    this.batch.events.push(event);
    this.schedule();
  }

  /**
   * Calls `callback()` once everything written so far is committed, or `callback(error)` if
   * it is given up (a failure that is neither kept nor retried). Unlike `ack()`, a failure
   * the writer tries again (a full disk, a server away) makes it wait, not fail: the changes
   * are kept, so what tells of them (an event, a result) waits with them. It hurries the
   * commit only if asked (someone waits on it); an event waits for the batch as it comes.
   */
  afterCommit(callback: (failure?: unknown) => void, hurry = false): void {
    if (!this.pending) {
      void this.previous.then(() => callback());
      return;
    }
    this.batchCallbacks.push(callback);
    if (hurry && this.batchAck === undefined) {
      this.batchAck = deferred();
      this.batchAck.promise.catch(() => {}); // its failure reaches the callbacks
      queueMicrotask(() => this.commit());
    }
  }

  /**
   * Resolves once everything written so far is committed. Someone is waiting, so the batch
   * is committed as soon as the current synchronous work is done (a microtask), not at the
   * end of the turn: a loop of submits still shares one transaction.
   */
  ack(): Promise<void> {
    if (!this.pending) return this.previous;
    if (this.batchAck === undefined) {
      this.batchAck = deferred();
      queueMicrotask(() => this.commit());
    }
    return this.batchAck.promise;
  }

  /** Commits what is waiting now. */
  flush(): Promise<void> {
    const done = this.ack();
    this.commit(true);
    return done;
  }

  /**
   * Nothing is committed until the returned release is called: what is written meanwhile
   * (a large submitMany added a slice per turn, and whatever else happens in those turns)
   * goes into one transaction. Acks and flushes wait for the release.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0 || !this.pending) return;
      if (this.batchAck !== undefined) queueMicrotask(() => this.commit());
      else this.schedule();
    };
  }

  get pending(): boolean {
    return this.batch.inserts.length > 0 || this.batch.patches.size > 0 || this.batch.events.length > 0;
  }

  private schedule(): void {
    if (this.scheduled || this.retryTimer !== undefined) return;
    this.scheduled = true;
    setImmediate(() => this.commit());
  }

  private commit(now = false): void {
    this.scheduled = false;
    if (!this.pending || this.holds > 0 || this.retryTimer !== undefined) return;
    if (!now && this.lingerMs > 0 && this.batch.inserts.length === 0) {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined;
        this.commit(true);
      }, this.lingerMs);
      return;
    }
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const batch = this.batch;
    const ack = this.batchAck;
    const callbacks = this.batchCallbacks;
    this.batchCallbacks = [];
    this.batch = emptyBatch();
    this.generation++; // slots of the batch being committed no longer take changes
    this.batchAck = undefined;
    // Behind a commit still under way, this one starts on a later turn of the event loop:
    // chained in microtasks, a queue of sealed batches would all be written in one turn.
    const after = this.committing > 0 ? this.previous.then(nextTurn, nextTurn) : this.previous;
    this.committing++;
    const committed = after.then(
      () => this.store.commit(batch),
      () => this.store.commit(batch),
    );
    const settled = (): void => {
      this.committing--;
    };
    void committed.then(settled, settled);
    this.previous = committed.then(
      // Resolved on the next turn, not in this microtask: a caller looping on `await submit()`
      // would otherwise run entirely in microtasks (SQLite answers synchronously) and starve
      // the event loop: timers, I/O and the workers' messages.
      () => {
        this.retryMs = 0;
        this.keptError = undefined;
        if (this.failing) {
          this.failing = false;
          this.onRecovered();
        }
        for (const callback of callbacks) callback();
        if (ack !== undefined) setImmediate(ack.resolve);
        for (const carried of this.carried.splice(0)) setImmediate(carried.resolve);
      },
      (error: unknown) => {
        if (!this.failing) {
          this.failing = true;
          this.onFailing(error, batch);
        }
        if (!this.stopping && this.keepable(error)) {
          if (ack !== undefined) this.carried.push(ack);
          this.keptError = error;
          this.retryLater(batch, callbacks, true);
          return;
        }
        ack?.reject(error);
        for (const carried of this.carried.splice(0)) carried.reject(error);
        if (!this.stopping && this.retryable(error)) this.retryLater(batch, callbacks, false);
        else for (const callback of callbacks) callback(error);
      },
    );
  }

  /**
   * Keeps a failed batch's changes and events (and its new rows too, when `whole`) ahead of
   * what came since, and commits again later. A change made since to a row of the failed
   * batch is in `patches` (its slot was of the older batch): it is applied after the row.
   */
  private retryLater(failed: WriteBatch, callbacks: Array<(failure?: unknown) => void>, whole: boolean): void {
    const current = this.batch;
    // The changes they wait for are kept, so they wait with them.
    if (callbacks.length > 0) this.batchCallbacks = callbacks.concat(this.batchCallbacks);
    if (whole && failed.inserts.length > 0) {
      current.inserts = failed.inserts.concat(current.inserts);
      current.payloads = failed.payloads.concat(current.payloads);
      current.changes = failed.changes.concat(current.changes);
      this.generation++; // the slots of the rows that were current point elsewhere now
    }
    for (const [id, patch] of failed.patches) {
      const newer = current.patches.get(id);
      current.patches.set(id, newer === undefined ? patch : Object.assign(patch, newer));
    }
    if (failed.events.length > 0) current.events = failed.events.concat(current.events);
    this.retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, this.retryMs * 2));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.commit();
    }, this.retryMs);
  }

  /** Stops a pending retry (the store is closing). */
  close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }
}
