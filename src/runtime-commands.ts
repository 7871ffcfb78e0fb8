/**
 * The runtime's commands to tasks (cancel, pause, resume, setPriority, send, and their
 * filter-wide forms): a task this host holds is changed at once through the state owner; one
 * it does not hold is the store's to answer for, or, on a shared queue, the host's that
 * holds it. TaskRuntime (./runtime.ts) checks the input and says what each command does.
 */
import { InvalidTransitionError, TaskNotFoundError } from './errors.js';
import { resolveFilter } from './options/list-filter.js';
import type { QueueSide } from './queue-side.js';
import type { LiveTask } from './scheduler/live-task.js';
import type { TaskStateMachine } from './scheduler/task-states.js';
import type { ControlRequest } from './store/task-claims.js';
import type { TaskStore } from './store/task-store.js';
import type { TaskFilter } from './types.js';

/** What the commands need of the runtime. */
export interface CommandHost {
  readonly tasks: TaskStateMachine;
  readonly store: TaskStore;
  /** What differs on a queue that several hosts share; null on a SQLite file this host owns. */
  readonly queue: QueueSide | null;
  /** Throws RuntimeClosedError once close() has begun. */
  assertOpen(action: string): void;
  /** Commits what is waiting, so the store answers after every change already announced. */
  pendingWrites(action: string): Promise<void>;
}

export class TaskCommands {
  readonly #host: CommandHost;

  constructor(host: CommandHost) {
    this.#host = host;
  }

  /**
   * Applies an operation to a live task at once, in the caller's turn, so calls take effect
   * in the order they were made. A task this host does not hold is the store's to answer
   * for (see #notHeld).
   */
  act(id: string, request: ControlRequest, action: string, apply: (task: LiveTask) => Promise<void>): Promise<void> {
    const { tasks, assertOpen } = this.#host;
    try {
      assertOpen(action);
      const task = tasks.get(id);
      if (task !== undefined) return apply(task);
    } catch (error) {
      return Promise.reject(error);
    }
    // A reopened file's task may still be on disk: loaded ahead of its turn.
    if (tasks.loading) {
      return tasks.fault(id).then((found) => {
        assertOpen(action);
        return found === undefined ? this.#notHeld(id, request, action) : apply(found);
      });
    }
    return this.#notHeld(id, request, action);
  }

  /**
   * A command for a task this host does not hold goes to the store: with the SQLite store
   * (which holds nothing elsewhere) the task is finished or unknown; a shared store may
   * carry it to the host that runs it.
   */
  async #notHeld(id: string, request: ControlRequest, action: string): Promise<void> {
    const { queue, store } = this.#host;
    await this.#host.pendingWrites(action);
    const answer = queue === null ? await store.control(id, request) : await queue.control(id, request);
    if (answer.kind === 'unknown') throw new TaskNotFoundError(id);
    if (answer.kind === 'unchanged') throw new InvalidTransitionError(id, answer.status, action);
  }

  /**
   * Applies an operation to the live tasks a filter matches (finished ones cannot change).
   * All of it happens in one synchronous pass, so its writes share one transaction; tasks
   * the operation does not apply to (already paused, say) are skipped, not counted. A
   * running task is counted once it has been told; it stops at its next checkpoint.
   */
  async many(
    action: ControlRequest['action'],
    filter: TaskFilter,
    apply: (task: LiveTask) => Promise<void>,
    alreadyAsked: (task: LiveTask) => boolean = () => false,
  ): Promise<number> {
    const { tasks, queue, assertOpen } = this.#host;
    assertOpen(`${action} tasks`);
    if (queue !== null) {
      // The queue's store lists the stored tasks; this host's unstored ones are changed here.
      const unstored = tasks.selectUnstored(resolveFilter(filter)).filter((task) => !alreadyAsked(task));
      let changed = 0;
      for (const task of unstored) {
        try {
          apply(task).catch(() => undefined);
          changed++;
        } catch (error) {
          if (!(error instanceof InvalidTransitionError)) throw error;
        }
      }
      return changed + (await queue.many(action as 'cancel' | 'pause' | 'resume', resolveFilter(filter), apply, alreadyAsked));
    }
    // A reopened file's tasks still on disk match too: they are loaded first.
    if (tasks.loading) {
      await tasks.loaded();
      assertOpen(`${action} tasks`);
    }
    // Tasks already being cancelled (or paused) are not changed again, so not counted.
    const matches = tasks.select(resolveFilter(filter)).filter((task) => !alreadyAsked(task));
    let changed = 0;
    for (const task of matches) {
      if (task.ended) {
        changed++; // ended by an earlier one of this pass: a cancelled parent took it along
        continue;
      }
      try {
        apply(task).catch(() => undefined); // its end is reported through events and the row
        changed++;
      } catch (error) {
        if (!(error instanceof InvalidTransitionError)) throw error;
      }
    }
    await tasks.durable();
    return changed;
  }
}
