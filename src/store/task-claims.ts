/**
 * How a host takes on tasks from its store: the seam a shared store implements.
 *
 * The state owner (src/scheduler/task-states.ts) holds only the tasks this host has taken
 * on. With the SQLite store, one host owns the file, so it holds every unfinished task:
 * those it recovers at open and those it submits. A shared store (several hosts on one
 * queue) instead hands each host the ready tasks it claims, under a lease it renews while
 * they run, and carries pause, resume, cancel and priority requests to the host that holds
 * a task. docs/design.md ("The store seam") says how the owner uses each call.
 */
import type { GroupLimits, Priority, Task, TaskEvent, TaskStatus } from '../types.js';
import type { NewTaskRecord } from './task-store.js';
import type { OutputLink } from './output-link.js';

/**
 * 'exclusive': this host holds every unfinished task of the store (what it submits, it
 * runs; nothing is ever claimed). 'shared': hosts claim ready tasks of the types they run.
 */
export type StoreSharing = 'exclusive' | 'shared';

export interface RecoveredState {
  /**
   * Exclusive stores: the unfinished tasks (`queued` or `paused`), left on disk for the
   * owner to read in the order it dispatches them. Shared stores: null (the host claims).
   */
  unfinished: UnfinishedRows | null;
  /** One more than the largest seq ever stored, so new tasks sort after the old ones. */
  nextSeq: number;
}

/**
 * The unfinished rows stored before the runtime opened (seq below its `nextSeq`), as an
 * exclusive store hands them over: read on demand, so a host whose file holds a million
 * queued tasks starts the most urgent ones while it reads the rest (src/scheduler/
 * backlog.ts). Synchronous, as reads of a local file are; a row changed since it was read
 * is read as it is now.
 */
export interface UnfinishedRows {
  /** Up to `limit` unfinished rows of priority rank `rank` (an index into PRIORITIES) with seq >= `fromSeq`, by seq. */
  page(rank: number, fromSeq: number, limit: number): StoredTask[];
  /** The unfinished row with this id, if any. */
  byId(id: string): StoredTask | undefined;
  /** The unfinished rows with this dedupe key (one, unless a row is read before its end is written). */
  byKey(key: string): StoredTask[];
}

/** A task with the submit sequence number that breaks ties between equal priorities. */
export interface StoredTask extends Task {
  seq: number;
  /** The last durable checkpoint the handler saved (v8-serialized), or null. */
  checkpoint: Uint8Array | null;
}

export interface ClaimRequest {
  /** Only tasks of these types: a host never claims a type its handlers module lacks. */
  types: readonly string[];
  /** At most this many (the host's free threads). */
  limit: number;
  /** The claim holds until this epoch ms unless renewed. */
  leaseUntil: number;
  now: number;
  /**
   * Aging: a task counts one priority level higher per this many ms it has waited (up to
   * 'high'), as in the runtime's own heap; null: no aging.
   */
  agingMs?: number | null;
  /**
   * The start rates of this host's types that have one (defineTask's `rate`): a shared store
   * holds each to its count across every host of the queue. Hosts that run a type load the
   * same handlers, so they pass the same rate. Absent or empty: no type is rated.
   */
  rates?: readonly TypeRate[];
}

/** A task type's start rate, as a claim passes it to the store. */
export interface TypeRate {
  type: string;
  count: number;
  perMs: number;
}

/** A change of one group's limits: `group` null is the default of groups without their own; `limits` null removes them. */
export interface GroupLimitsChange {
  group: string | null;
  limits: GroupLimits | null;
}

/** A command for a task this host does not hold. */
export type ControlRequest =
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'cancel' }
  | { action: 'setPriority'; priority: Priority }
  /** A message for the running task's handler (`rt.send`). */
  | { action: 'send'; message: unknown };

/**
 * What became of a command for a task this host does not hold:
 * - `unknown`: no such task in the store;
 * - `unchanged`: not applied, and `status` says why: the task has ended (with an exclusive
 *   store, whose owner holds every unfinished task, that is the only case);
 * - `applied`: no host held the task (queued, or paused, unclaimed), so the store changed
 *   its row itself; `events` are what that did (already told to the other hosts), for this
 *   host's own listeners (shared stores only);
 * - `sent`: a host holds it and was asked to apply it (shared stores only).
 */
export type ControlAnswer =
  | { kind: 'unknown' }
  | { kind: 'unchanged'; status: TaskStatus }
  | { kind: 'applied'; events: TaskEvent[] }
  | { kind: 'sent' };

/** What a shared store tells a host about the queue (see TaskClaims.listen). */
export interface QueueFeed {
  /** Tasks may have become ready to claim (submitted, retried, resumed, released, parents done). */
  ready(): void;
  /** What other hosts' tasks did, in order, each told once its change is committed. */
  events(events: TaskEvent[]): void;
  /** Another host asks this one to apply a command to a task this host holds. */
  control(id: string, request: ControlRequest): void;
  /** The feed was cut and is back: what happened meanwhile was not told (read the rows again). */
  resync(): void;
  /** A notice every host hears about output$ values (src/streams/output-wire.ts), as it came. */
  outputNotice?(payload: string): void;
  /** Something for this host alone about output$ values (src/streams/output-wire.ts), as it came. */
  outputPiece?(payload: string): void;
}

export interface TaskClaims {
  readonly sharing: StoreSharing;
  /**
   * Called once when a runtime opens the store: what this host is to hold at the start.
   * Exclusive: every unfinished task, to be read as the owner needs them; tasks left
   * `running` by a host that stopped are moved back to `queued` first (their attempt was
   * counted when they started). Shared: tasks whose lease has lapsed go back to `queued`;
   * the host then claims as any other.
   */
  recover(now: number): Promise<RecoveredState>;
  /**
   * Takes ready tasks (queued, due, parents done) of the given types, highest priority
   * first, then submit order, and marks them held by this host until `leaseUntil`.
   * Exclusive stores have none to give: every task is held from its submit on.
   */
  claim(request: ClaimRequest): Promise<StoredTask[]>;
  /**
   * Keeps holding these tasks until `leaseUntil` (a host renews the lease of what it holds).
   * Resolves to the ids it still held: one missing was taken back after its lease lapsed.
   */
  renew(ids: readonly string[], leaseUntil: number): Promise<string[]>;
  /**
   * Hands back tasks this host holds and has not finished (at close), for other hosts to
   * claim: one still `running` was interrupted, and is queued again (attempt counted).
   */
  release(ids: readonly string[]): Promise<void>;
  /**
   * Tasks whose lease lapsed before `now` (their host died, or lost the server) go back to
   * `queued` for any host to claim: a run under way keeps its counted attempt and its
   * checkpoint. Resolves to how many. Exclusive stores have no leases: 0.
   */
  reclaimLapsed(now: number): Promise<number>;
  /**
   * The earliest `runAt` after `now` of a queued task of these types that no host holds, or
   * null: a host sets a timer for it, so a delayed task starts when it comes due.
   */
  nextDue(types: readonly string[], now: number): Promise<number | null>;
  /**
   * Starts telling `feed` what happens on the queue; resolves, once the store listens, to
   * the unsubscribe. An exclusive store never calls it: the host that owns the file made
   * every change itself.
   */
  listen(feed: QueueFeed): Promise<() => void>;
  /** A command for a task this host does not hold (see ControlAnswer). */
  control(id: string, request: ControlRequest): Promise<ControlAnswer>;
  /** How output$ values travel between the hosts of a shared queue; absent on an exclusive store. */
  readonly outputLink?: OutputLink;
  /**
   * Stores a task that has a dedupe key, unless an unfinished task of the queue holds the
   * key: resolves to the id of the task that holds it, the new one's if it was stored.
   * Only shared stores are asked (an exclusive store's owner knows every key).
   */
  insertKeyed(record: NewTaskRecord, payload: unknown, debounced?: boolean): Promise<string>;
  /**
   * Stores limits of groups for the whole queue: claims then hold every group to them
   * across hosts (a cap counts the group's tasks every host holds, a rate their starts on
   * every host), and the hosts are woken to claim again. Resolves once stored. A store
   * without it (SQLite, one host) leaves limits to the host's own dispatcher.
   */
  setGroupLimits?(changes: readonly GroupLimitsChange[]): Promise<void>;
}
