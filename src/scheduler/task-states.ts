/**
 * The state owner: the one place a live task's status changes.
 *
 * Everything that can change a task comes here: a submit, a recovered row, a command from
 * the host (pause, resume, cancel, a new priority) and what a thread reports about a run
 * (sent, started, progress, paused, ended, died). The owner decides which move that is, by
 * the task's phase, and makes it through its own part TaskMoves (./task-moves.ts), which
 * checks it against the transition table and hands its effects on: the row patch to the
 * store writer, the event to the bus, the waiters settled.
 *
 * Threads are the runner's business (the dispatcher): the owner asks it through the
 * TaskRunner port and hears back through DispatchSource (./ports.ts). The owner does not
 * assume it holds every task of the store: with the SQLite store one host owns them all;
 * a shared store hands it those it claimed (docs/design.md, "The store seam").
 */
import { deserialize } from 'node:v8';
import { InvalidTransitionError, NotCloneableError, RuntimeClosedError } from '../errors.js';
import type { EncodedValue } from '../store/encoded.js';
import type { RecoveredState, StoredTask } from '../store/task-store.js';
import { TaskMessages } from '../streams/task-messages.js';
import type { TaskOutputs } from '../streams/task-outputs.js';
import { PRIORITIES, type Priority, type Task, type TaskError, type TaskFilter } from '../types.js';
import type { TaskSpans } from '../telemetry/task-spans.js';
import type { TaskOutcome } from '../workers/protocol.js';
import type { ParentState } from './dependencies.js';
import { LiveTask, settle, type TaskLimits, type TaskRelations } from './live-task.js';
import type { DispatchSource, RunReport, TaskRunner } from './ports.js';
import { CANCELLED, settledError, timeoutError, waitFor } from './task-endings.js';
import { newTaskId } from './task-id.js';
import { TaskLoader, type LoaderOwner, type ParentLookup } from './task-loader.js';
import { TaskMoves, type TaskMovesOptions } from './task-moves.js';

export interface TaskStatesOptions extends TaskMovesOptions {
  /** A span per run, when tracing is on and `@opentelemetry/api` is installed. */
  spans?: TaskSpans | undefined;
}

export interface NewTask {
  type: string;
  payload: unknown;
  /** The payload in the store's encoding; undefined for no payload. */
  encodedPayload: EncodedValue | undefined;
  name: string | null;
  description: string | null;
  priority: Priority;
  limits: TaskLimits;
  relations: TaskRelations;
  /** Not before this epoch ms, or null. */
  runAt: number | null;
  /** The states of its dependsOn parents, looked up by the runtime. */
  parents: ParentState[];
  /** Written to the store unless false: kept in memory only, while it lives (SubmitOptions.durable). */
  durable?: boolean;
  /** With a key: starts this long after the key's last submit (SubmitOptions.debounceMs). */
  debounceMs?: number | null;
}

const isStored = (task: LiveTask): boolean => task.durable;

export type { ParentLookup } from './task-loader.js';

/** Until a runner is bound (during open), nothing runs. */
const NO_RUNNER: TaskRunner = {
  wake: () => {},
  takeBack: () => true,
  signal: () => {},
  stop: () => false,
  consumeOutput: () => {},
  syncStarts: () => {},
  settled: () => Promise.resolve(),
  close: () => {},
};

export class TaskStateMachine implements DispatchSource {
  readonly #options: TaskStatesOptions;
  readonly #moves: TaskMoves;
  readonly #spans: TaskSpans | undefined;
  #runner: TaskRunner = NO_RUNNER;
  #room: (() => void) | undefined;
  #nextSeq = 1;
  /** 'restoring' (at open), 'open', then 'draining' (graceful close), then 'stopped' (nothing more is written). */
  #state: 'restoring' | 'open' | 'draining' | 'stopped' = 'open';
  /** Takes on rows read from the store: a reopened file's, while they load, and a shared store's claims. */
  #loader: TaskLoader | undefined;

  constructor(options: TaskStatesOptions) {
    this.#options = options;
    this.#spans = options.spans;
    this.#moves = new TaskMoves(options, () => this.#runner, (task) => this.#loader?.ended(task));
  }

  /** The runner that takes ready tasks to threads; bound once, while the runtime opens. */
  bindRunner(runner: TaskRunner): void {
    this.#runner = runner;
  }

  get dispatching(): boolean {
    return this.#state === 'open';
  }

  // ---- what the runtime reads --------------------------------------------------------

  get(id: string): LiveTask | undefined {
    return this.#moves.get(id);
  }

  /** The live tasks a `list` filter matches, newest first (for the batch operations). */
  select(filter: TaskFilter): LiveTask[] {
    return this.#moves.select(filter);
  }

  /** The live tasks that are not stored, as a `list` filter picks them (see TaskMoves.selectUnstored). */
  selectUnstored(filter: TaskFilter): LiveTask[] {
    return this.#moves.selectUnstored(filter);
  }

  /** The live tasks that are not stored. */
  unstoredTasks(): Iterable<LiveTask> {
    return this.#moves.unstoredTasks();
  }

  /** Resolves once every event so far is told: how a task that is not stored is settled (see StoredEvents.afterTold). */
  told(): Promise<void> {
    return new Promise((resolve) => this.#options.events.afterTold(resolve));
  }

  /** Resolves once everything changed so far is committed (a submit's or a command's promise). */
  durable(): Promise<void> {
    return this.#options.writer.ack();
  }

  /**
   * Why new tasks are refused now: the store failed a write (a full disk) that waits to be
   * written again, and what was accepted before waits with it; undefined when it writes.
   */
  writeRefusal(): unknown {
    return this.#options.writer.refusal;
  }

  /** Nothing is committed until the returned release is called: what is added meanwhile shares one transaction. */
  holdWrites(): () => void {
    return this.#options.writer.hold();
  }

  /** Commits what is waiting, tasks that threads began included, so a read sees every change announced. */
  beforeRead(): Promise<void> {
    if (this.#state !== 'stopped') this.#runner.syncStarts();
    return this.#options.writer.flush();
  }

  /** One task's latest state, for a read of it (a task its thread began is found running). */
  snapshot(task: LiveTask): Task {
    if (this.#state !== 'stopped') this.#runner.syncStarts(task);
    return task.snapshot();
  }

  /** Waits for a live task's end; resolves (or rejects) once that end is stored. */
  waitForEnd(task: LiveTask): Promise<unknown> {
    return new Promise((resolve, reject) => (task.resultWaiters ??= []).push({ resolve, reject }));
  }

  /** How a finished task ended, as `result()` answers it: its value, or the error it throws. */
  endingOf(task: LiveTask): unknown {
    const ending = task.ending!;
    if (ending.status === 'completed') return ending.result === null ? undefined : deserialize(ending.result);
    throw settledError(task.id, ending.status, ending.error);
  }

  whenIdle(): Promise<void> {
    if (!this.loading) return this.#moves.whenIdle();
    // Not idle while tasks are left on disk.
    return this.loaded().then(() => {
      if (this.loading || this.#state === 'stopped') throw new RuntimeClosedError('wait for idle');
      return this.#moves.whenIdle();
    });
  }

  /** Whether tasks of a reopened file are still on disk, being loaded. */
  get loading(): boolean {
    return this.#loader?.loading === true;
  }

  /** Resolves once every unfinished task of a reopened file is held (or its loading stopped: a close). */
  loaded(): Promise<void> {
    return this.#loader?.loaded() ?? Promise.resolve();
  }

  /**
   * The live task with this id, loaded ahead of its turn if it is still on disk (a command
   * names it while the queue loads); undefined if this host does not hold it.
   */
  async fault(id: string): Promise<LiveTask | undefined> {
    await this.#loader?.fault(id);
    return this.#moves.get(id);
  }

  /** Loads the task on disk that holds a dedupe key, if any, so a submit with that key finds it. */
  async faultKey(key: string): Promise<void> {
    if (this.#moves.holderOf(key) === undefined) await this.#loader?.faultKey(key);
  }

  // ---- tasks coming in ---------------------------------------------------------------

  /**
   * Takes over what the store recovered. An exclusive store's unfinished tasks are loaded in
   * the order they run: the first slice before open() resolves, the rest a slice per turn
   * while the first ones run (see ./backlog.ts). `lookup` finds a parent in the store.
   */
  async restore(recovered: RecoveredState, lookup: ParentLookup): Promise<void> {
    this.#nextSeq = recovered.nextSeq;
    if (recovered.unfinished !== null) this.#moves.reopened(recovered.nextSeq);
    this.#state = 'restoring';
    await this.#loaderOf(lookup).start(recovered);
    if (this.#state === 'restoring') this.#state = 'open';
    // Not before open() has resolved: whoever subscribes to events$ right after it should
    // see the recovered tasks start.
    setImmediate(() => this.#runner.wake());
  }

  /**
   * Takes on tasks this host claimed from a shared store, as recovered ones are taken: each
   * is placed by its parents (all finished: the store hands over no others), its delay and
   * its priority. A task claimed while the runtime closes is held, and handed back at close.
   */
  async adopt(rows: StoredTask[], lookup: ParentLookup): Promise<void> {
    if (this.#state === 'stopped') return;
    // In submit order: a claim returns its rows in any order, and each takes its turn
    // (fair-turns.ts) as it is admitted.
    await this.#loaderOf(lookup).takeOn([...rows].sort((a, b) => a.seq - b.seq));
  }

  #loaderOf(lookup: ParentLookup): TaskLoader {
    if (this.#loader !== undefined) return this.#loader;
    const moves = this.#moves;
    const { writer, agingMs } = this.#options;
    const owner: LoaderOwner = {
      get: (id) => moves.get(id),
      take: (task, parents, now, agedSince, restored) => {
        moves.admit(task, restored);
        moves.place(task, parents, now, agedSince);
      },
      state: () => this.#state,
      flush: () => writer.flush(),
      afterCommit: (callback) => writer.afterCommit(callback),
      wake: () => this.#runner.wake(),
    };
    return (this.#loader = new TaskLoader(owner, lookup, agingMs));
  }

  /**
   * Stores a new task for any host of a shared queue to claim: this host does not hold it
   * (it runs it only if it claims it, as any other host would). Its `created` event is told
   * here; the rest of its life is told by whichever host holds it.
   */
  addElsewhere(input: NewTask, now: number): string {
    const task = this.#newTask(input, now);
    this.#options.writer.insert(task, input.encodedPayload);
    this.#moves.emit({ type: 'created', taskId: task.id, at: now, taskType: task.type, priority: task.priority });
    return task.id;
  }

  /** A new task's shape, as `add` and `addElsewhere` store it (a record of its row). */
  newRecord(input: NewTask, now: number): LiveTask {
    return this.#newTask(input, now);
  }

  /** Says a new task is stored (a keyed one, inserted by the store itself). */
  announceCreated(record: LiveTask): void {
    this.#moves.emit({ type: 'created', taskId: record.id, at: record.createdAt, taskType: record.type, priority: record.priority });
  }

  /** The ids of the stored tasks this host holds (for a shared store's lease); those not stored have no lease. */
  heldIds(): string[] {
    return this.#moves.ids(isStored);
  }

  /** Tasks held and not finished: queued (ready, delayed, blocked) and running here. */
  get load(): number {
    return this.#moves.count('queued') + this.#moves.count('running') - this.#heldBack();
  }

  /**
   * Queued tasks that wait for something other than a free thread: parked at a cap or rate,
   * or collected for a batch handler's call. Not counted in `load`, so a shared queue's host
   * claims other work for its free threads meanwhile.
   */
  countHeldBack(count: () => number): void {
    this.#heldBack = count;
  }

  #heldBack: () => number = () => 0;

  /** Who is told when threads may have room: no ready task is held, or a run ended (a shared queue's claimer). */
  onRoom(listener: () => void): void {
    this.#room = listener;
  }

  /**
   * Stores and queues a new task, or returns the unfinished task that holds its key. A task
   * that is not durable is queued only: no row, ever.
   */
  add(input: NewTask, now: number): LiveTask {
    const { key } = input.relations;
    const holder = key === null ? undefined : this.#moves.holderOf(key);
    const debounceMs = input.debounceMs ?? null;
    if (holder !== undefined) {
      if (debounceMs === null) return holder;
      // Not started: the last payload replaces its own, and its start moves back.
      if (this.#moves.debounce(holder, input.payload, input.encodedPayload, now + debounceMs, now)) return holder;
      // Started: a new task takes the key, so the last payload runs too.
    }
    const task = this.#newTask(input, now);
    if (debounceMs !== null) task.runAt = now + debounceMs;
    // Its runs' spans are children of the submitter's (on a shared queue, where any host may
    // run the task, they start traces of their own: the context is not stored).
    this.#spans?.capture(task);
    this.#moves.admit(task);
    // The task itself waits for its INSERT (it is a NewTaskRecord), not a copy of it.
    if (task.durable) task.unwritten = this.#options.writer.insert(task, input.encodedPayload);
    this.#moves.emit({ type: 'created', taskId: task.id, at: now, taskType: task.type, priority: task.priority }, task.durable);
    this.#moves.place(task, input.parents, now);
    return task;
  }

  #newTask(input: NewTask, now: number): LiveTask {
    const task = new LiveTask({
      id: newTaskId(),
      type: input.type,
      seq: this.#nextSeq++,
      priority: input.priority,
      name: input.name,
      description: input.description,
      payload: input.payload,
      createdAt: now,
      attempts: 0,
      phase: 'waiting',
      limits: input.limits,
      relations: input.relations,
      durable: input.durable,
    });
    task.runAt = input.runAt;
    return task;
  }

  // ---- commands (pause, resume, cancel, priority); each resolves once it is true ------

  /**
   * A task that has not started is held at once. A running one is asked to stop at its next
   * checkpoint, and the call resolves when its thread says it has.
   */
  pause(task: LiveTask): Promise<void> {
    switch (task.phase) {
      case 'scheduled':
        this.#moves.undelay(task);
      // falls through: it has not started, so it is held at once
      case 'blocked':
      case 'waiting':
        this.#moves.hold(task);
        return this.durable();
      case 'dispatched':
        // Its thread may have just started it (nothing said so yet): then it is paused as running.
        if (!this.#runner.takeBack(task)) return this.pause(this.#startedNow(task));
        this.#moves.hold(task);
        this.#spans?.end(task, false);
        return this.durable();
      case 'running':
        if (task.cancelRequested || task.timedOut) {
          throw new InvalidTransitionError(task.id, 'running', 'pause', 'it is being stopped');
        }
        if (!task.pauseRequested) {
          task.pauseRequested = true;
          this.#runner.signal(task, 'pause');
        }
        return waitFor(task, 'pauseWaiters');
      default:
        throw new InvalidTransitionError(task.id, task.status, 'pause', 'it is already paused');
    }
  }

  /** A held task goes back where it belongs; one asleep at a checkpoint is woken, and the call resolves when it goes on. */
  resume(task: LiveTask): Promise<void> {
    if (task.cancelRequested) throw new InvalidTransitionError(task.id, task.status, 'resume', 'it is being cancelled');
    switch (task.phase) {
      case 'held': {
        const at = Date.now();
        this.#moves.unhold(task, at);
        this.#moves.emit({ type: 'resumed', taskId: task.id, taskType: task.type, at }, task.durable);
        return this.durable();
      }
      case 'suspended':
        this.#runner.signal(task, 'run');
        return waitFor(task, 'resumeWaiters');
      case 'running':
        if (task.pauseRequested) {
          // Withdrawn before the thread reached a checkpoint: it never stopped.
          task.pauseRequested = false;
          this.#runner.signal(task, 'run');
          const withdrawn = new InvalidTransitionError(task.id, 'running', 'pause', 'resumed before it reached a checkpoint');
          task.pauseWaiters = settle(task.pauseWaiters, withdrawn);
          return Promise.resolve();
        }
      // falls through: running and not pausing
      default:
        throw new InvalidTransitionError(task.id, task.status, 'resume', 'it is not paused');
    }
  }

  /** A task that has not started ends at once; a running one is stopped, and the call resolves once it has ended. */
  cancel(task: LiveTask): Promise<void> {
    switch (task.phase) {
      case 'dispatched':
        if (!this.#runner.takeBack(task)) return this.cancel(this.#startedNow(task)); // its thread has just started it
      // falls through: it has not started, so it ends now
      case 'waiting':
      case 'scheduled':
      case 'blocked':
      case 'held':
        this.#moves.finish(task, 'cancelled', { error: CANCELLED });
        this.#spans?.end(task, false); // if it was sent and taken back
        return this.durable();
      default:
        if (!task.cancelRequested) {
          task.cancelRequested = true;
          task.pauseRequested = false;
          this.#runner.stop(task);
        }
        return waitFor(task, 'cancelWaiters');
    }
  }

  /**
   * A message for a running task's handler (`ctx.messages`), sent at once: throws
   * ERR_INVALID_TRANSITION for a task that is not running, ERR_NOT_CLONEABLE for a message
   * that cannot be cloned. `heldForNextRun`: sent from another host of a shared queue, which
   * found this one holding the task (its row may lag its run); queued here, it waits for the
   * run about to begin.
   */
  send(task: LiveTask, message: unknown, heldForNextRun = false): void {
    const waits = heldForNextRun && task.status === 'queued';
    if (task.status !== 'running' && !waits) throw new InvalidTransitionError(task.id, task.status, 'send', 'only a running task can be sent a message');
    try {
      (task.messages ??= new TaskMessages()).send(message);
    } catch (error) {
      throw new NotCloneableError('message', error);
    }
  }

  /** What handlers emit (ctx.emit), for output$. */
  get outputs(): TaskOutputs {
    return this.#moves.outputs;
  }

  /** A new priority for a task that has not started (or waits paused); one sent to a thread is taken back. */
  setPriority(task: LiveTask, priority: Priority): Promise<void> {
    if (task.phase === 'dispatched') {
      if (this.#runner.takeBack(task)) this.#spans?.end(task, false);
      else this.#startedNow(task);
    }
    if (task.phase === 'running' || task.phase === 'suspended') {
      throw new InvalidTransitionError(task.id, task.status, 'change the priority of', 'it has started');
    }
    task.priority = priority;
    task.rank = PRIORITIES.indexOf(priority);
    const back = task.phase === 'dispatched';
    this.#moves.move(task, back ? 'waiting' : task.phase, { priority });
    if (task.phase === 'waiting') this.#moves.enqueue(task, Date.now()); // the old heap entry is now stale
    return this.durable();
  }

  // ---- what the dispatcher takes and reports (DispatchSource) -------------------------

  /** While a reopened queue loads, a task goes only once no task still on disk goes before it. */
  peek(): LiveTask | undefined {
    const top = this.#moves.peek();
    return top === undefined || !this.loading || this.#loader!.mayGo(top) ? top : undefined;
  }

  pop(): LiveTask | undefined {
    if (this.loading && this.peek() === undefined) return undefined;
    return this.#moves.pop();
  }

  starved(): void {
    this.#room?.();
  }

  owedPlace(): boolean {
    return this.#moves.owedPlace();
  }

  putBack(task: LiveTask): void {
    this.#moves.putBack(task);
  }

  sent(task: LiveTask, startsNow: boolean, at: number): string | undefined {
    const traceparent = this.#spans?.begin(task, at);
    this.#moves.startRun(task, at);
    if (startsNow) this.#moves.markStarted(task, at);
    else this.#moves.move(task, 'dispatched', undefined, at);
    return traceparent;
  }

  takenBack(task: LiveTask): void {
    this.#moves.move(task, 'waiting');
    this.#spans?.end(task, false);
    this.#moves.enqueue(task, Date.now());
  }

  started(task: LiveTask, at: number): void {
    if (task.phase === 'dispatched') this.#moves.markStarted(task, at);
  }

  report(task: LiveTask, report: RunReport): void {
    switch (report.type) {
      case 'progress':
        this.#moves.progress(task, report.report);
        return;
      case 'checkpoint':
        this.#moves.saveCheckpoint(task, report.state);
        return;
      case 'paused':
        if (task.phase !== 'running') return;
        // What it reported before it stopped is told before the pause.
        this.#moves.flushProgress(task);
        this.#moves.move(task, 'suspended', undefined, report.at);
        task.pauseRequested = false;
        task.pauseWaiters = settle(task.pauseWaiters);
        this.#moves.pauseRun(task, Date.now());
        this.#spans?.event(task, 'paused', report.at);
        this.#moves.emit({ type: 'paused', taskId: task.id, taskType: task.type, at: report.at }, task.durable);
        return;
      case 'output':
        this.#moves.outputs.push(task.id, report.value);
        return;
      case 'inbox':
        (task.messages ??= new TaskMessages()).open(report.port);
        return;
      case 'resumed':
        if (task.phase !== 'suspended') return;
        this.#moves.move(task, 'running', undefined, report.at);
        task.resumeWaiters = settle(task.resumeWaiters);
        this.#moves.resumeRun(task, Date.now());
        this.#spans?.event(task, 'resumed', report.at);
        this.#moves.emit({ type: 'resumed', taskId: task.id, taskType: task.type, at: report.at }, task.durable);
    }
  }

  outcome(task: LiveTask, outcome: TaskOutcome): void {
    task.messages?.close(); // the run's inbox ends with it
    if (outcome.progress !== undefined) this.#moves.progress(task, outcome.progress);
    if (outcome.startedAt === null) {
      // It never ran: the worker found it paused or stopped before starting it.
      if (task.phase === 'running') this.#moves.unstart(task);
      if (outcome.kind === 'held') this.#moves.hold(task);
      else if (task.cancelRequested) this.#moves.finish(task, 'cancelled', { error: CANCELLED });
      else this.#moves.requeue(task); // its time ran out while it waited behind others in its batch
      this.#spans?.end(task, false, outcome.endedAt);
      return;
    }
    // A task of a batch: its start is learnt with its end, and written with it in one patch.
    if (task.phase === 'dispatched') this.#moves.announceStart(task, outcome.startedAt);
    // One a read found running (syncStarts) took the read's time: the thread knows better.
    else if (task.startedAt !== null && outcome.startedAt < task.startedAt) task.startedAt = outcome.startedAt;
    if (outcome.kind === 'completed') this.#moves.finish(task, 'completed', { result: outcome.result }, outcome.endedAt);
    else if (outcome.kind === 'failed') this.#moves.fail(task, outcome.error, outcome.endedAt);
    else if (task.timedOut && !task.cancelRequested) this.#moves.fail(task, timeoutError(task), outcome.endedAt);
    else this.#moves.finish(task, 'cancelled', { error: CANCELLED }, outcome.endedAt);
    this.#spans?.end(task, true, outcome.endedAt);
    this.#room?.();
  }

  crashed(task: LiveTask, started: boolean, error: TaskError): void {
    task.messages?.close();
    if (task.cancelRequested) {
      this.#moves.finish(task, 'cancelled', { error: CANCELLED });
    } else if (started) {
      if (task.phase === 'dispatched') this.#moves.markStarted(task, Date.now());
      this.#moves.fail(task, task.timedOut ? timeoutError(task) : error);
    } else {
      if (task.phase === 'running') this.#moves.unstart(task);
      this.#moves.requeue(task);
    }
    this.#spans?.end(task, started);
  }

  // ---- closing ------------------------------------------------------------------------

  /** Graceful close: nothing more is dispatched; resolves once the runner's calls are done. */
  drain(): Promise<void> {
    if (this.#state === 'open' || this.#state === 'restoring') this.#state = 'draining';
    return this.#runner.settled();
  }

  /** Stops all bookkeeping: what is running now stays `running` in the store, for recovery. */
  stop(): void {
    this.#state = 'stopped';
    this.#loader?.stop();
    this.#runner.close();
    this.#moves.stop();
    this.#spans?.close();
  }

  /** A task sent in a batch that its thread has started without a word yet: running from now on. */
  #startedNow(task: LiveTask): LiveTask {
    this.#moves.markStarted(task, Date.now());
    return task;
  }
}
