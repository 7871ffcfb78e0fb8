/**
 * The unfinished tasks a reopened file still holds on disk, and how far the state owner has
 * read them. The owner (./task-states.ts) loads them a page at a time, in the order it
 * dispatches them (priority, then submit order), while the first ones already run: a host
 * whose file holds a million queued tasks starts the most urgent in a fraction of a second
 * instead of after reading them all.
 *
 * One cursor per priority: every row of that priority still on disk has a seq of at least
 * its head. That frontier is what keeps the order right while part of the queue is on disk:
 * a task in the heap may go only if no row left on disk would go before it (`precedes`).
 * Loading in dispatch order makes that true at once for the tasks loaded; a task loaded
 * early (a command or a dedupe key asked for it) or submitted meanwhile waits until the
 * cursors have passed everything that goes before it.
 *
 * Aging: had they all been loaded at the open, the restored tasks would have aged together
 * from it, so a row still on disk counts as aged as much, and a task loaded later starts at
 * the level the others have reached (`rankAt`, `agedSince`).
 *
 * A row is read as it is on disk, and a task's last changes may not be written yet: a task
 * the owner holds, or finished and not yet written as such, is never loaded again (`taken`).
 * A finished task's id is kept only until its end is committed: kept until the load ends,
 * a million of them made a Set that copied itself for tens of ms as it grew; kept in a Set
 * per turn, a row was checked against dozens of them (an outcome per worker message).
 */
import type { StoredTask, UnfinishedRows } from '../store/task-claims.js';
import { PRIORITIES } from '../types.js';

const TOP_RANK = PRIORITIES.length - 1;
/** A cursor with no row left. */
const DONE = Number.POSITIVE_INFINITY;

/**
 * Internal, for tests: at most this many rows loaded per turn of the event loop (null: as
 * many as the turn's budget allows), so a test can act while most of its queue is on disk.
 */
export const restorePace: { rowsPerTurn: number | null } = { rowsPerTurn: null };

export interface BacklogOptions {
  rows: UnfinishedRows;
  /** Whether the owner holds this task now. */
  held(id: string): boolean;
  agingMs: number | null;
  /** When the runtime opened: restored tasks age from then. */
  openedAt: number;
  /** The first seq of the tasks submitted since the open (never on disk for this). */
  nextSeq: number;
  /** Calls back once everything written so far is committed (WriteBatcher.afterCommit). */
  afterCommit(callback: (failure?: unknown) => void): void;
}

export class Backlog {
  readonly #options: BacklogOptions;
  /** By rank: no row of that priority left on disk has a smaller seq (DONE: none is left). */
  readonly #heads: number[] = PRIORITIES.map(() => 0);
  /** Tasks finished since the open whose end may not be committed yet. */
  readonly #ended = new Set<string>();
  /** Those of the current run of synchronous work: let go by the commit after its end, which holds all their ends. */
  #endedNow: string[] | undefined;

  constructor(options: BacklogOptions) {
    this.#options = options;
  }

  /** Every row is loaded. */
  get done(): boolean {
    return this.#heads.every((head) => head === DONE);
  }

  /**
   * The next rows in dispatch order, up to `limit`: a page of the priority whose next row
   * on disk goes first. May be empty (a priority with no row left, or rows already taken)
   * while others are left.
   */
  next(limit: number, now: number): StoredTask[] {
    let best = -1;
    for (let rank = TOP_RANK; rank >= 0; rank--) {
      if (this.#heads[rank] !== DONE && (best < 0 || this.#before(rank, best, now))) best = rank;
    }
    if (best < 0) return [];
    // One row more than asked: its seq is the new head, exact, so the frontier holds back
    // no task it need not.
    const rows = this.#options.rows.page(best, this.#heads[best]!, limit + 1);
    this.#heads[best] = rows.length > limit ? rows.pop()!.seq : DONE;
    return rows.filter((row) => !this.taken(row.id));
  }

  /** Whether `task` goes before every row still on disk, as the heap orders them (rank, then seq). */
  precedes(task: { rank: number; seq: number }, now: number): boolean {
    for (let rank = 0; rank <= TOP_RANK; rank++) {
      const head = this.#heads[rank]!;
      if (head === DONE) continue;
      const aged = this.rankAt(rank, now);
      if (aged > task.rank || (aged === task.rank && head < task.seq)) return false;
    }
    return true;
  }

  /** The rank a restored task of stored rank `rank` has reached by `now` (see aging above). */
  rankAt(rank: number, now: number): number {
    return Math.min(TOP_RANK, rank + this.#levels(now));
  }

  /** Since when a restored task loaded at `now` has aged at its level: it gains the next with the others. */
  agedSince(now: number): number {
    const { agingMs, openedAt } = this.#options;
    return agingMs === null ? now : openedAt + this.#levels(now) * agingMs;
  }

  /** A task of this id is or was the owner's: its row is not loaded (again). */
  taken(id: string): boolean {
    return this.#ended.has(id) || this.#options.held(id);
  }

  /**
   * A task the owner held has finished; called after its end is written to the batcher (one
   * submitted since the open is never read: nothing to keep).
   */
  ended(task: { id: string; seq: number }): void {
    if (task.seq >= this.#options.nextSeq) return;
    this.#ended.add(task.id);
    let ids = this.#endedNow;
    if (ids === undefined) {
      ids = this.#endedNow = [];
      // After the writes of this run of work: the commit that holds them all lets them go.
      queueMicrotask(() => {
        const sealed = this.#endedNow!;
        this.#endedNow = undefined;
        this.#options.afterCommit((failure) => {
          if (failure === undefined) for (const id of sealed) this.#ended.delete(id);
        });
      });
    }
    ids.push(task.id);
  }

  /** The row of an unfinished task still on disk, for a command that names it. */
  byId(id: string): StoredTask | undefined {
    if (this.taken(id)) return undefined;
    return this.#options.rows.byId(id);
  }

  /** The row of the task still on disk that holds a dedupe key, if any. */
  byKey(key: string): StoredTask | undefined {
    return this.#options.rows.byKey(key).find((row) => !this.taken(row.id));
  }

  /** Whether the next row of `rank` goes before the next row of `other`. */
  #before(rank: number, other: number, now: number): boolean {
    const a = this.rankAt(rank, now);
    const b = this.rankAt(other, now);
    return a > b || (a === b && this.#heads[rank]! < this.#heads[other]!);
  }

  #levels(now: number): number {
    const { agingMs, openedAt } = this.#options;
    return agingMs === null ? 0 : Math.floor((now - openedAt) / agingMs);
  }
}
