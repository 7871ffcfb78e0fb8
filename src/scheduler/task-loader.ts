/**
 * How the state owner (./task-states.ts) takes on tasks read from a store: the rows of a
 * reopened file, loaded in dispatch order while the first tasks run (./backlog.ts says how
 * the order is kept), and the rows a shared store's claims hand over. It builds each task
 * (./restored-shapes.ts) and looks up its parents; the owner admits and places it.
 */
import type { RecoveredState, StoredTask } from '../store/task-store.js';
import { nextTurn, TurnBudget } from '../turns.js';
import { Backlog, restorePace } from './backlog.js';
import type { ParentState } from './dependencies.js';
import type { LiveTask } from './live-task.js';
import { RestoredShapes } from './restored-shapes.js';
import { MISSING_PARENT } from './task-endings.js';

/** Rows read from the store at a time while a reopened queue loads (~0.3-0.5 ms of work). */
const PAGE_ROWS = 64;
/** A failed read of the rows left on disk is tried again after this long. */
const LOAD_RETRY_MS = 1000;
const NO_PARENTS: ParentState[] = [];

/** Finds a parent this host does not hold (in the store). */
export type ParentLookup = (id: string) => Promise<ParentState | undefined>;

/** What the loader needs of the state owner. */
export interface LoaderOwner {
  /** The live task with this id. */
  get(id: string): LiveTask | undefined;
  /** Admits a task read from the store and places it by its parents, delay and priority. */
  take(task: LiveTask, parents: ParentState[], now: number, agedSince: number, restored: boolean): void;
  /** 'open' while loading may go on; 'restoring' during the slice loaded before open() resolves. */
  state(): 'restoring' | 'open' | 'draining' | 'stopped';
  /** Commits what is waiting (WriteBatcher.flush). */
  flush(): Promise<void>;
  afterCommit(callback: (failure?: unknown) => void): void;
  /** Tasks the frontier held back may go now. */
  wake(): void;
}

export class TaskLoader {
  readonly #owner: LoaderOwner;
  readonly #lookup: ParentLookup;
  readonly #agingMs: number | null;
  readonly #shapes = new RestoredShapes();
  /** The rows of a reopened file still on disk, while they load. */
  #backlog: Backlog | undefined;
  /** Resolves once the backlog is loaded, or its loading stopped (a close). */
  #loading: Promise<void> | undefined;

  constructor(owner: LoaderOwner, lookup: ParentLookup, agingMs: number | null) {
    this.#owner = owner;
    this.#lookup = lookup;
    this.#agingMs = agingMs;
  }

  /** Whether tasks of a reopened file are still on disk. */
  get loading(): boolean {
    return this.#backlog !== undefined;
  }

  /** Resolves once every task of a reopened file is held (or its loading stopped). */
  loaded(): Promise<void> {
    return this.#loading ?? Promise.resolve();
  }

  /**
   * Loads an exclusive store's unfinished rows: the first slice now (the most urgent tasks,
   * held before open() resolves), the rest a slice per turn from the next one on.
   */
  /** Rows read back from a file this host owns (not a shared store's claims): they keep their places (FairTurns.restored). */
  #reopened = false;

  async start(recovered: RecoveredState): Promise<void> {
    const rows = recovered.unfinished;
    if (rows === null) return;
    this.#reopened = true;
    const owner = this.#owner;
    const backlog = new Backlog({
      rows,
      held: (id) => owner.get(id) !== undefined,
      agingMs: this.#agingMs,
      openedAt: Date.now(),
      nextSeq: recovered.nextSeq,
      afterCommit: (callback) => owner.afterCommit(callback),
    });
    this.#backlog = backlog;
    await this.#loadSlice(backlog);
    this.#loading = this.#loadRest(backlog);
  }

  /** Whether `task` may be dispatched: no task still on disk goes before it. */
  mayGo(task: LiveTask): boolean {
    return this.#backlog === undefined || this.#backlog.precedes(task, Date.now());
  }

  /** A task the owner held has finished (its row may read unfinished until its end is committed). */
  ended(task: LiveTask): void {
    this.#backlog?.ended(task);
  }

  /** Loads the task with this id ahead of its turn if it is still on disk. */
  async fault(id: string): Promise<void> {
    const row = this.#backlog?.byId(id);
    if (row !== undefined) await this.takeOn([row]);
  }

  /** Loads the task on disk that holds a dedupe key, if any. */
  async faultKey(key: string): Promise<void> {
    const row = this.#backlog?.byKey(key);
    if (row !== undefined) await this.takeOn([row]);
  }

  /** Nothing more is loaded: what is left stays on disk for the next open. */
  stop(): void {
    this.#backlog = undefined;
  }

  /**
   * Places rows read from the store, in their order; a task already held is skipped. Every
   * parent is looked up before any task is placed: placed as each lookup came back, the
   * tasks without parents would be dispatched first, whatever their order.
   */
  async takeOn(rows: StoredTask[]): Promise<void> {
    const parentsOf = await this.#parentsOf(rows);
    const now = Date.now();
    const backlog = this.#backlog;
    const owner = this.#owner;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      // Loaded meanwhile (a command named it while parents were looked up): once only.
      // (A backlog's `taken` counts the tasks the owner holds too.)
      if (owner.state() === 'stopped' || (backlog !== undefined ? backlog.taken(row.id) : owner.get(row.id) !== undefined)) continue;
      const task = this.#shapes.taskOf(row);
      if (backlog !== undefined) task.rank = backlog.rankAt(task.rank, now);
      owner.take(task, parentsOf?.[i] ?? NO_PARENTS, now, backlog?.agedSince(now) ?? now, this.#reopened);
    }
  }

  /** Loads the rest of the backlog a slice per turn. */
  async #loadRest(backlog: Backlog): Promise<void> {
    const owner = this.#owner;
    while (!backlog.done) {
      await nextTurn();
      if (owner.state() !== 'open') return;
      try {
        await this.#loadSlice(backlog);
      } catch (error) {
        if (owner.state() !== 'open') return;
        process.emitWarning(`offthread: reading the queued tasks failed (tried again in ${LOAD_RETRY_MS / 1000} s): ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_MS).unref());
      }
      // The frontier moved: tasks it held back may go now.
      owner.wake();
    }
    if (this.#backlog === backlog) this.#backlog = undefined;
  }

  /** Loads pages of the backlog until this turn's budget is spent. */
  async #loadSlice(backlog: Backlog): Promise<void> {
    const budget = new TurnBudget();
    const cap = restorePace.rowsPerTurn;
    for (let read = 0; !backlog.done && this.#owner.state() !== 'stopped'; ) {
      const limit = cap === null ? PAGE_ROWS : Math.min(PAGE_ROWS, cap - read);
      if (limit <= 0) return;
      const rows = backlog.next(limit, Date.now());
      read += limit;
      if (rows.length > 0) await this.takeOn(rows);
      if (budget.spentBy(limit)) return;
    }
  }

  /** Where each row's parents stand (undefined when no row has any). */
  async #parentsOf(rows: StoredTask[]): Promise<ParentState[][] | undefined> {
    const owner = this.#owner;
    let parentsOf: ParentState[][] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const { dependsOn } = rows[i]!;
      if (dependsOn.length === 0) continue;
      parentsOf ??= new Array<ParentState[]>(rows.length).fill(NO_PARENTS);
      // A parent loaded and finished since the open: its row is read once its end is written.
      const backlog = this.#backlog;
      if (backlog !== undefined && dependsOn.some((id) => owner.get(id) === undefined && backlog.taken(id))) await owner.flush();
      const parents: ParentState[] = [];
      for (const id of dependsOn) {
        const live = owner.get(id);
        parents.push(live !== undefined ? { id, status: live.status } : ((await this.#lookup(id)) ?? { id, status: 'cancelled', error: MISSING_PARENT }));
      }
      parentsOf[i] = parents;
    }
    return parentsOf;
  }
}
