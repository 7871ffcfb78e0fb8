/**
 * What the runtime does for tasks that are not stored (durable: false) besides what every
 * task gets from the state owner: their submits answered without a commit, their counts
 * added to the store's, and the rules that keep a stored row from naming one of them.
 */
import { deserialize } from 'node:v8';
import { InvalidOptionError } from './errors.js';
import type { LiveTask } from './scheduler/live-task.js';
import { TURN_MAX_ITEMS } from './turns.js';
import type { Task, TaskEvent, TaskStats } from './types.js';

/**
 * A submit that waits for no commit resolves at once. After TURN_MAX_ITEMS of them in one
 * turn of the event loop the next ones resolve a turn later: a loop of `await submit()`
 * would otherwise run in microtasks only, and the threads' answers, timers and I/O would
 * wait for it to end (a stored submit yields through its commit, see WriteBatcher).
 */
export class QuickAcks {
  #inTurn = 0;
  /** Resolves on the next turn: shared by the submits past the cap (no timer each). */
  #nextTurn: Promise<void> | undefined;
  readonly #newTurn = (): void => {
    this.#inTurn = 0;
    this.#nextTurn = undefined;
  };

  resolve<T>(value: T): Promise<T> {
    if (this.#inTurn++ === 0) setImmediate(this.#newTurn);
    if (this.#inTurn <= TURN_MAX_ITEMS) return Promise.resolve(value);
    this.#nextTurn ??= new Promise((resolve) => setImmediate(resolve));
    return this.#nextTurn.then(() => value);
  }
}

/** The last snapshot of a task that is not stored, once it has ended: no row to read it from. */
export function endedSnapshot(task: LiveTask, end: TaskEvent): Task | undefined {
  const ending = task.ending;
  if (ending === undefined || task.durable) return undefined;
  const result = ending.status === 'completed' && ending.result !== null ? deserialize(ending.result) : null;
  return { ...task.snapshot(), status: ending.status, result, error: ending.error, completedAt: end.at, updatedAt: end.at };
}

/** The store's counts, with the live tasks it has no row of. */
export function withUnstored(stats: TaskStats, tasks: Iterable<LiveTask>): TaskStats {
  for (const task of tasks) {
    const status = task.status;
    if (status === 'queued' || status === 'running' || status === 'paused') {
      stats[status]++;
      stats.total++;
    }
  }
  return stats;
}

/**
 * A stored task may not wait for one that is not: its row would name a parent that no
 * restart can find. (A task that is not stored may wait for any.)
 */
export function refuseUnstoredParent(parent: LiveTask): never {
  throw new InvalidOptionError(
    'dependsOn',
    `task ${parent.id} is not durable (durable: false), so a durable task cannot depend on it: after a restart its row would name a parent that no longer exists. Submit the child with durable: false too, or the parent durable.`,
  );
}

/** On a producer-only host (concurrency 0): a task that is not stored could run nowhere. */
export function refuseOnProducer(option: string): InvalidOptionError {
  return new InvalidOptionError(
    option,
    'this host runs no tasks (concurrency 0), and a task that is not durable runs only on the host that submits it (no other host can see it). Submit it durable, or from a host with threads.',
  );
}

/**
 * On a shared queue a task that is not stored waits only for parents this host can see end:
 * its own tasks, or finished ones. A stored parent no host here holds ends elsewhere.
 */
export function refuseRemoteParent(id: string): never {
  throw new InvalidOptionError(
    'dependsOn',
    `task ${id} is unfinished and held by the shared queue, not this host: a task that is not durable can wait only for tasks this host holds, or finished ones.`,
  );
}
