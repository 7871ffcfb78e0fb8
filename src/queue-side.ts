/**
 * What TaskRuntime does differently on a queue that several hosts share (PostgreSQL):
 * submits stored for any host to claim, handles whose results come from wherever the task
 * runs, batch commands over the whole queue, and commands to and from the hosts that hold
 * tasks. Everything else a runtime does is the same on both kinds of store.
 */
import { InvalidTransitionError } from './errors.js';
import type { SharedParts } from './runtime-queue.js';
import type { LiveTask } from './scheduler/live-task.js';
import type { NewTask, TaskStateMachine } from './scheduler/task-states.js';
import type { ControlAnswer, ControlRequest } from './store/task-claims.js';
import type { TaskStore } from './store/task-store.js';
import { createHandle, type HandleSource, type TaskHandle } from './streams/task-handle.js';
import type { ParentState } from './scheduler/dependencies.js';
import type { Task, TaskFilter, TaskStatus } from './types.js';
import { defer, type Observable } from 'rxjs';

/** Rows per read when a batch command lists its matches. */
const MANY_PAGE = 1000;

/** The statuses each batch command changes. */
const APPLIES_TO: Record<'cancel' | 'pause' | 'resume', TaskStatus[]> = {
  cancel: ['queued', 'running', 'paused'],
  pause: ['queued', 'running'],
  resume: ['paused'],
};

export interface QueueSideOptions {
  tasks: TaskStateMachine;
  store: TaskStore;
  shared: SharedParts;
  observe(id: string): Observable<Task>;
  /** Rejects (ERR_RUNTIME_CLOSED) once the runtime is closing. */
  assertOpen(action: string): void;
  /** Commits what is waiting, so the store sees every change announced. */
  pendingWrites(action: string): Promise<void>;
  /** Where each parent of a new task stands (an unknown one rejects the submit). */
  parentStates(ids: string[]): Promise<ParentState[]>;
}

export class QueueSide {
  readonly #options: QueueSideOptions;
  readonly #handles: HandleSource<string>;

  constructor(options: QueueSideOptions) {
    this.#options = options;
    this.#handles = {
      observe: (id) => options.observe(id),
      result: (id) => {
        try {
          options.assertOpen('wait for a result');
        } catch (error) {
          return Promise.reject(error);
        }
        return options.shared.endings.wait(id);
      },
      output: (id) => defer(() => this.output(id, this.#handles.result(id))),
    };
    options.shared.onControl = (id, request) => this.#fromElsewhere(id, request);
  }

  /**
   * A new task is stored for whichever host claims it first (this one too, if it runs the
   * type and has room). A keyed one is stored by the store itself, which knows every key of
   * the queue: the task holding the key is answered instead.
   */
  async submit<Result>(input: NewTask): Promise<TaskHandle<Result>> {
    const { tasks, store } = this.#options;
    // A submitMany item has its parents looked up already.
    if (input.relations.dependsOn.length > 0 && input.parents.length === 0) input.parents = await this.#options.parentStates(input.relations.dependsOn);
    this.#options.assertOpen('submit');
    if (input.relations.key === null) {
      const handle = this.add<Result>(input, Date.now());
      try {
        await tasks.durable();
      } catch (error) {
        this.#options.shared.endings.unexpect(handle.id);
        throw error;
      }
      return handle;
    }
    const now = Date.now();
    const record = tasks.newRecord(input, now);
    const debounceMs = input.debounceMs ?? null;
    if (debounceMs !== null) record.runAt = now + debounceMs;
    // Told before the row can be claimed: its end cannot come before it is expected.
    this.#options.shared.endings.expect(record.id);
    let id: string;
    try {
      id = await store.insertKeyed(record, input.encodedPayload, debounceMs !== null);
    } catch (error) {
      this.#options.shared.endings.unexpect(record.id);
      throw error;
    }
    if (id === record.id) tasks.announceCreated(record);
    else this.#options.shared.endings.unexpect(record.id);
    return this.handle<Result>(id);
  }

  /** Stores a task without a key, in the batch being written (submitMany). */
  add<Result>(input: NewTask, now: number): TaskHandle<Result> {
    const id = this.#options.tasks.addElsewhere(input, now);
    this.#options.shared.endings.expect(id);
    return this.handle<Result>(id);
  }

  /**
   * A task's values: read here while this host holds the task; else forwarded from the
   * host that runs it (src/streams/remote-outputs.ts), when the store can carry them.
   */
  output(id: string, end: Promise<unknown>): Observable<unknown> {
    const { tasks, shared } = this.#options;
    if (tasks.get(id) !== undefined || shared.outputs === undefined) return tasks.outputs.read(id, end);
    return shared.outputs.read(id, end);
  }

  handle<Result>(id: string): TaskHandle<Result> {
    return createHandle<Result, string>(id, this.#handles, id);
  }

  /**
   * A batch command over the whole queue: tasks this host holds are changed here, the
   * others by the store or the host that holds them (see control). One that another host
   * holds is counted once it has been asked.
   */
  async many(
    action: 'cancel' | 'pause' | 'resume',
    filter: TaskFilter,
    apply: (task: LiveTask) => Promise<void>,
    alreadyAsked: (task: LiveTask) => boolean,
  ): Promise<number> {
    const { tasks, store } = this.#options;
    const asked = filter.status === undefined ? undefined : ([] as TaskStatus[]).concat(filter.status);
    const status = APPLIES_TO[action].filter((s) => asked === undefined || asked.includes(s));
    const ids: string[] = [];
    // Every match first, then the changes: a changed task leaves the filter, and pages would shift.
    for (let offset = 0; ; offset += MANY_PAGE) {
      await this.#options.pendingWrites(`${action} tasks`);
      const page = await store.list({ ...filter, status, limit: MANY_PAGE, offset });
      for (const task of page) ids.push(task.id);
      if (page.length < MANY_PAGE) break;
    }
    let changed = 0;
    for (const id of ids) {
      const task = tasks.get(id);
      try {
        if (task !== undefined) {
          if (task.ended || alreadyAsked(task)) continue;
          apply(task).catch(() => undefined);
          changed++;
        } else {
          const answer = await this.control(id, { action });
          if (answer.kind === 'applied' || answer.kind === 'sent') changed++;
        }
      } catch (error) {
        if (!(error instanceof InvalidTransitionError)) throw error;
      }
    }
    await tasks.durable();
    return changed;
  }

  /**
   * A command for a task this host does not hold: applied to its row when no host holds it
   * (the store told the other hosts; this one is told here), or sent to the host that does.
   */
  async control(id: string, request: ControlRequest): Promise<ControlAnswer> {
    const answer = await this.#options.store.control(id, request);
    if (answer.kind === 'applied') this.#options.shared.events.tell(answer.events);
    return answer;
  }

  /**
   * Another host sent a command for a task this one holds. Nobody here awaits it: what it
   * does is told by the task's events (a task that ended meanwhile, or a command that does
   * not apply, changes nothing).
   */
  #fromElsewhere(id: string, request: ControlRequest): void {
    const { tasks } = this.#options;
    const task = tasks.get(id);
    if (task === undefined) return;
    try {
      this.#options.assertOpen('apply a command');
      let done: Promise<void>;
      switch (request.action) {
        case 'cancel':
          done = tasks.cancel(task);
          break;
        case 'pause':
          done = tasks.pause(task);
          break;
        case 'resume':
          done = tasks.resume(task);
          break;
        case 'setPriority':
          done = tasks.setPriority(task, request.priority);
          break;
        case 'send':
          // Another host saw this host hold it: a run about to begin here gets it too.
          tasks.send(task, request.message, true);
          return;
      }
      done.catch(() => undefined);
    } catch {
      // Closing, or a command that does not apply to the task as it is now: nothing to do.
    }
  }
}
