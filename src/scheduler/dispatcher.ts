/**
 * The dispatcher: the I/O side of the scheduler. It takes ready tasks from the state owner
 * (a DispatchSource, ./ports.ts), sends them to the threads, and reports what the threads
 * say back to the owner, which decides what it means. It changes no status itself.
 *
 * Dispatch is event-driven: it runs (once per microtask at most) after a submit, a resume,
 * a finished call; never on a timer. `concurrency` calls run at once, one per thread, and as
 * many may wait behind them (see fill); a call carries one task, or a batch of short ones
 * (see ./batch-planner.ts).
 */
import type { ResourceLimits } from 'node:worker_threads';
import { PAUSE, RUN, type ControlSlots } from '../workers/control.js';
import { crashError } from '../workers/crash-error.js';
import type { TaskOutcome, TaskRequest, WorkerEvent } from '../workers/protocol.js';
import type { BatchPlanner } from './batch-planner.js';
import { CallsInFlight } from './calls-in-flight.js';
import { DispatchTurn } from './dispatch-turn.js';
import type { Call, LiveTask } from './live-task.js';
import type { DispatchSource, TaskRunner } from './ports.js';
import { RunStopper } from './run-stopper.js';
import type { DispatchLimits } from './dispatch-limits.js';
import { BatchCollectors, type BatchShape } from './batch-collectors.js';

/** What a running task's thread tells the host (everything but the services port). */
export type WorkerReport = Exclude<WorkerEvent, { type: 'host-port' }>;

/** The threads, as the dispatcher needs them (src/workers/pool.ts; a test may bring its own). */
export interface ThreadPool {
  /** Threads that can take a call now (one being replaced cannot). */
  readonly readyThreads: number;
  runBatch(requests: TaskRequest[]): Promise<TaskOutcome[]>;
  terminateThread(threadId: number): boolean;
}

export interface DispatcherOptions {
  source: DispatchSource;
  pool: ThreadPool;
  controls: ControlSlots;
  planner: BatchPlanner;
  /** Caps and rates by type and group: what may start now (./dispatch-limits.ts). */
  limits: DispatchLimits;
  concurrency: number;
  cancelGraceMs: number;
  resourceLimits: ResourceLimits | undefined;
  /** Whether anyone listens to task events (a task sent ahead then announces its start). */
  events: { readonly observed: boolean };
  /** The types made with defineBatchTask, and their calls' size and wait. */
  batches?: ReadonlyMap<string, BatchShape>;
}

/** Only lone tasks expected to take at most this long are sent ahead of a thread's current call. */
export const AHEAD_MAX_MS = 10;
/**
 * A batch sent ahead holds at most this share of the batch budget, so an urgent arrival waits
 * behind at most ~1.5 budgets of batched work. (With batches kept back, a thread emptied its
 * batch and then slept until the host's answer: no-op floods ran ~25% slower, more at a lower
 * thread priority, since a waking low-priority thread waits for a core.)
 */
const AHEAD_BATCH_SHARE = 0.5;
/**
 * A group that was idle takes its place ahead of tasks sent and not begun only when more than
 * this many would otherwise run before it (see CallsInFlight.yieldTurn): with its tasks then
 * interleaved with the others', a small group's 10 end before a big group's 20th.
 */
const FAIR_SLACK = 8;
/** No tasks (a batch type's collected ones, when no limit is set: never written to). */
const NONE: LiveTask[] = [];

export class Dispatcher implements TaskRunner {
  readonly #options: DispatcherOptions;
  readonly #source: DispatchSource;
  readonly #calls: CallsInFlight;
  readonly #stopper: RunStopper;
  readonly #batches: BatchCollectors;
  readonly #turn = new DispatchTurn(() => this.#dispatch());
  /** Outcomes that arrived before all of their run's messages; applied once those are in. */
  readonly #early = new Map<LiveTask, TaskOutcome>();
  #dispatchScheduled = false;
  #closed = false;
  /** The rank of the last call's first task (its highest: a batch is a prefix of the heap). */
  #sentRank = -1;
  #settledWaiter: (() => void) | undefined;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#source = options.source;
    this.#calls = new CallsInFlight(options.controls, options.source);
    this.#stopper = new RunStopper({
      controls: options.controls,
      cancelGraceMs: options.cancelGraceMs,
      stillRunning: (task) => options.source.get(task.id) === task && task.slot >= 0,
      terminateThread: (threadId) => options.pool.terminateThread(threadId),
    });
    this.#batches = new BatchCollectors(options.batches ?? new Map(), () => this.wake());
  }

  wake(): void {
    if (this.#dispatchScheduled || !this.#source.dispatching) return;
    this.#dispatchScheduled = true;
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  /**
   * Up to `concurrency` calls run, one per thread; up to as many more go ahead, one queued
   * behind each running call, so a thread starts its next task without waiting for a round
   * trip through the host (~180 us a task boundary on a 2-vCPU VM: the host's wake-up, then
   * the thread's, later still when the thread runs at a lower priority). A call goes ahead
   * only if it is expected to be short: tasks of types known to take at most AHEAD_MAX_MS
   * together, or a batch of short ones sized to half the batch budget. A task that outranks
   * the tasks of known length sent ahead takes their place (see revokeOutranked): it waits
   * for the task in hand, not for the call queued behind it.
   */
  #dispatch(): void {
    // A group that was idle is not left behind another's tasks sent ahead of its turn: taken
    // back at once, whatever the turn's budget (it is order, not flow, and the threads may
    // begin them any moment).
    if (this.#source.owedPlace()) this.#yieldTurn();
    // The turn's budget holds back the flow, not a task that outranks it.
    if (this.#turn.spent() && !this.#outranked()) return;
    // First: a task that outranks unstarted ones on the threads must not be queued behind them.
    this.#revokeOutranked();
    this.#fill();
  }

  /** Sends calls while there is room on the threads, alone, in batches or ahead (see dispatch). */
  #fill(): void {
    const { planner, limits, pool, concurrency } = this.#options;
    const source = this.#source;
    // Threads being replaced take no call until they are ready (WorkerPool.readyThreads).
    const threads = Math.min(concurrency, pool.readyThreads);
    while (source.dispatching && this.#calls.size < 2 * threads) {
      const ahead = this.#calls.size >= threads;
      // A due call of a batch handler goes to a free thread first (see BatchCollectors).
      const due = ahead ? undefined : this.#batches.takeDue();
      if (due !== undefined) {
        this.#send(due, false);
        continue;
      }
      if (ahead) {
        const next = source.peek();
        const estimate = next === undefined ? undefined : planner.estimate(next.type);
        if (estimate === undefined || estimate > AHEAD_MAX_MS) return;
        // Nor while a thread sleeps at a checkpoint: a call sent ahead could land behind it.
        if (this.#calls.anyAsleep()) return;
        // Nor a task that outranks the tasks of known length on the threads (whose unstarted
        // ones revokeOutranked took back): Piscina would queue it on whichever thread has room,
        // often the one that has just begun its next task. It waits for the first thread to
        // come free instead.
        if (this.#calls.anyRevocable && next!.rank > this.#sentRank) return;
      }
      const first = source.pop();
      if (first === undefined) {
        source.starved();
        return;
      }
      const collecting = this.#batches.batches(first.type);
      // A batch type's tasks collected for its next call count against its limits as if sent:
      // the call goes later, all of them at once.
      const collected = collecting && limits.limited ? this.#batches.pending(first.type) : NONE;
      const refusing = limits.limited ? limits.refusing(first, collected) : undefined;
      if (refusing !== undefined) {
        limits.park(first, refusing);
        continue;
      }
      if (collecting) {
        if (this.#batches.full(first.type)) {
          // Its type's next call is full and waits for a thread: so does it, in the heap.
          source.putBack(first);
          return;
        }
        this.#batches.add(first);
        if (limits.limited) collected.push(first);
        // What is queued right behind it, of its type, joins it now.
        for (let next = source.peek(); next !== undefined && next.type === first.type && !this.#batches.full(first.type); next = source.peek()) {
          const task = source.pop()!;
          const refused = limits.limited ? limits.refusing(task, collected) : undefined;
          if (refused !== undefined) {
            limits.park(task, refused);
            continue;
          }
          this.#batches.add(task);
          if (limits.limited) collected.push(task);
        }
        continue;
      }
      const rated = limits.limited && limits.rated(first);
      if (rated && ahead) {
        // It waits for a free thread: behind another call it would start later than counted.
        source.putBack(first);
        return;
      }
      const batch = [first];
      if (rated) {
        // Alone (see DispatchLimits.rated).
      } else if (planner.isShort(first.type)) {
        const share = ahead ? AHEAD_BATCH_SHARE : 1;
        let plannedMs = planner.estimate(first.type)!;
        for (let next = source.peek(); next !== undefined && planner.fits(plannedMs, batch.length, next.type, share); next = source.peek()) {
          if (!this.#roomFor(batch, next)) break;
          batch.push(source.pop()!);
          plannedMs += planner.estimate(next.type)!;
        }
      } else if (ahead) {
        this.#addAhead(batch, planner.estimate(first.type)!);
      }
      this.#send(batch, ahead);
    }
  }

  /**
   * Tasks of a known length travel together in a call sent ahead, up to AHEAD_MAX_MS in all
   * (two of ~4 ms): one call and one answer for the pair halve Piscina's work and the host's
   * wake-ups per task (host CPU per 4 ms task 77 -> 53 us, raw Piscina's 56: bench/
   * diagnostics/cpu-per-task.ts). Their ends are reported with the call's, <= AHEAD_MAX_MS later,
   * so only tasks of the first one's rank join it: a high-priority task is not reported after
   * lower ones. A task with a timeout waits for a call of its own: its clock would start
   * while it waits.
   */
  #addAhead(batch: LiveTask[], plannedMs: number): void {
    const { planner } = this.#options;
    const source = this.#source;
    for (let next = source.peek(); next !== undefined && next.rank === batch[0]!.rank && batch.length < planner.maxBatch; next = source.peek()) {
      const ms = planner.estimate(next.type);
      if (ms === undefined || plannedMs + ms > AHEAD_MAX_MS || next.limits.timeoutMs !== null) return;
      if (!this.#roomFor(batch, next)) return;
      batch.push(source.pop()!);
      plannedMs += ms;
    }
  }

  /** The task may join the batch within its type's and group's limits, if any. */
  #roomFor(batch: LiveTask[], task: LiveTask): boolean {
    const { limits } = this.#options;
    return !limits.limited || (limits.refusing(task, batch) === undefined && !limits.rated(task));
  }

  /**
   * A task in the heap that outranks tasks of a known length already handed to a thread but
   * not started (sent ahead, alone or together) takes their place: they go back into the
   * heap, the worker skips them, and the thread is free for it once it finishes the task in
   * hand, instead of after up to AHEAD_MAX_MS more. Batches of short tasks are left alone:
   * they hold at most ~1.5 ms of work a thread, usually done before the host could take them
   * back, and taking them back only added calls (priority scenario median 0.8 -> 1.3 ms).
   */
  #revokeOutranked(): void {
    if (!this.#calls.anyRevocable) return; // the no-op flood's case: nothing to iterate
    const top = this.#source.peek();
    if (top === undefined || !this.#source.dispatching) return;
    this.#calls.revokeBelow(top.rank);
  }

  /** The task at the top of the heap is owed its turn ahead of tasks sent and not begun (see FairTurns). */
  #yieldTurn(): void {
    const top = this.#source.peek();
    if (top === undefined || !this.#source.dispatching) return;
    this.#calls.yieldTurn(top.rank, top.turn, FAIR_SLACK);
  }

  /** The task at the top of the heap has a higher priority than the last call sent. */
  #outranked(): boolean {
    const next = this.#source.peek();
    return next !== undefined && next.rank > this.#sentRank;
  }

  #send(tasks: LiveTask[], ahead: boolean): void {
    const { controls, planner, limits, events, pool } = this.#options;
    this.#sentRank = tasks[0]!.rank;
    const now = Date.now();
    // Only calls sent ahead with tasks of a known length, not short ones, may be taken back
    // for a higher-priority task (see revokeOutranked); their tasks share one rank. (A lone
    // call to a free thread starts at once.)
    const revocable = ahead && !planner.isShort(tasks[0]!.type);
    const lowRank = revocable ? tasks[0]!.rank : Number.POSITIVE_INFINITY;
    const handlerBatch = this.#batches.batches(tasks[0]!.type);
    const call: Call = { tasks, slots: new Array(tasks.length), held: 0, ahead, revocable, lowRank, handlerBatch };
    const requests: TaskRequest[] = new Array(tasks.length);
    // A task sent alone to a free thread starts at once. One sent ahead says when it starts
    // if someone listens for events; one in a batch (or unheard) is found started by a read
    // (syncStarts) or reported with its end: a start message per task costs both threads a
    // wake-up, ~3% of two cores' CPU-bound throughput (2000 tasks of 4 ms, in turns).
    const startsNow = tasks.length === 1 && !ahead;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      task.slot = call.slots[i] = controls.acquire()!;
      task.call = call;
      task.received = 0;
      if (limits.limited) limits.sent(task);
      const request: TaskRequest = { id: task.id, type: task.type, payload: task.payload, attempt: task.attempts + 1, slot: task.slot };
      // Only what a task has travels: most have no parents and no saved state.
      if (task.dependencies !== undefined) request.dependencies = task.dependencies;
      if (task.failedDependencies !== undefined) request.failedDependencies = task.failedDependencies;
      if (task.checkpoint !== null) request.checkpoint = task.checkpoint;
      if (tasks.length === 1 && ahead && events.observed) request.announce = true;
      requests[i] = request;
      const traceparent = this.#source.sent(task, startsNow, now);
      if (traceparent !== undefined) request.traceparent = traceparent;
    }
    this.#calls.add(call);
    pool.runBatch(requests).then(
      (outcomes) => this.#onOutcomes(call, outcomes),
      (error: unknown) => this.#onCallFailed(call, error),
    );
  }

  #onOutcomes(call: Call, outcomes: TaskOutcome[]): void {
    this.#turn.begin();
    if (!this.#closed) {
      for (let i = 0; i < outcomes.length; i++) {
        const task = this.#calls.owns(call, i);
        if (task !== undefined) this.#applyOutcome(task, outcomes[i]!, call);
      }
    }
    // A held outcome still counts its task as running: the call's place is not free yet.
    if (call.held === 0) this.#endCall(call);
  }

  #applyOutcome(task: LiveTask, outcome: TaskOutcome, call: Call): void {
    task.slot = -1;
    // Almost always empty: an outcome seldom overtakes its task's messages.
    const early = this.#early.size === 0 ? undefined : this.#early.get(task);
    if (early === undefined && task.received < outcome.posted) {
      // Some of its messages are still on the way over the other port: finish after them.
      this.#early.set(task, outcome);
      call.held++;
      return;
    }
    if (early !== undefined) {
      this.#early.delete(task);
      if (--call.held === 0) queueMicrotask(() => this.#endCall(call));
    }
    this.#stopper.ended(task);
    if (outcome.startedAt !== null) this.#options.planner.record(task.type, outcome.runMs);
    this.#source.outcome(task, outcome);
  }

  /** The worker thread died under the call (crash, or terminated after a cancel's grace). */
  #onCallFailed(call: Call, error: unknown): void {
    if (!this.#closed) {
      const crash = crashError(error, this.#options.resourceLimits);
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.#calls.owns(call, i);
        if (task === undefined) continue;
        // Running when its thread died (one it had finished lost its outcome with the call).
        const started = this.#options.controls.runningThread(call.slots[i]!) !== 0;
        task.slot = -1;
        this.#stopper.ended(task);
        this.#source.crashed(task, started, crash);
      }
    }
    this.#endCall(call);
  }

  signal(task: LiveTask, request: 'pause' | 'run'): void {
    this.#options.controls.set(task.slot, request === 'pause' ? PAUSE : RUN);
  }

  /** See RunStopper: the CANCEL word, then the thread terminated after `cancelGraceMs`. */
  stop(task: LiveTask): boolean {
    return this.#stopper.stop(task);
  }

  /**
   * Reports `started` the tasks that were sent without a start message (in a batch, or ahead
   * with nobody listening) and that a thread has begun (its control word names the thread),
   * so a read sees them as they are. Their start time is corrected when their outcome comes.
   * Given a task, only that one (a read of it).
   */
  syncStarts(only?: LiveTask): void {
    if (this.#closed) return;
    const now = Date.now();
    if (only !== undefined) {
      if (only.phase === 'dispatched' && only.slot >= 0 && this.#options.controls.started(only.slot)) this.#source.started(only, now);
      return;
    }
    for (const task of this.#calls.begun()) this.#source.started(task, now);
  }

  /** Tasks collected for batch handlers' calls, not yet sent. */
  get collected(): number {
    return this.#batches.collected;
  }

  consumeOutput(task: LiveTask, count: number): void {
    if (task.slot >= 0) this.#options.controls.consumeOutput(task.slot, count);
  }

  takeBack(task: LiveTask): boolean {
    return this.#calls.takeBack(task);
  }

  #endCall(call: Call): void {
    const { limits } = this.#options;
    this.#calls.end(call);
    if (limits.limited) for (const task of call.tasks) limits.ended(task);
    this.#checkSettled();
    this.#dispatch();
  }

  /** A running task's thread reports progress, or that it stopped at / left a checkpoint. */
  onWorkerEvent(event: WorkerReport): void {
    if (this.#closed) return;
    const task = this.#source.get(event.id);
    if (task === undefined) return;
    if (task.slot < 0 && !this.#early.has(task)) return; // from a run taken back
    // An end told early belongs to the run in that slot: a task taken back and sent again has another.
    if (event.type === 'ended' && event.slot !== task.slot) return;
    task.received++;
    // A task of a batch (or sent ahead) that speaks has started.
    if (task.phase === 'dispatched') this.#source.started(task, event.type === 'started' ? event.at : Date.now());
    switch (event.type) {
      case 'progress':
        this.#source.report(task, { type: 'progress', report: { progress: event.progress, message: event.message } });
        break;
      case 'checkpoint':
        this.#source.report(task, { type: 'checkpoint', state: event.state });
        break;
      case 'paused': {
        const wasRunning = task.phase === 'running';
        this.#source.report(task, { type: 'paused', at: event.at });
        if (wasRunning && task.phase === 'suspended') {
          this.#calls.takeBackBehind(task.call!);
          this.wake();
          this.#checkSettled();
        }
        break;
      }
      case 'resumed':
        this.#source.report(task, { type: 'resumed', at: event.at });
        break;
      case 'output':
        this.#source.report(task, { type: 'output', value: event.value });
        break;
      case 'inbox':
        this.#source.report(task, { type: 'inbox', port: event.port });
        break;
      case 'ended':
        // Told before its call's end, because a later task of the call runs long: applied
        // now, and the call's copy is ignored (the task no longer owns its slot then).
        this.#applyOutcome(task, event.outcome, task.call!);
        return;
    }
    // The outcome came first (another port); now that all the run said is in, apply it.
    const early = this.#early.size === 0 ? undefined : this.#early.get(task);
    if (early !== undefined && task.received >= early.posted) this.#applyOutcome(task, early, task.call!);
  }

  /** Resolves once every call has ended, or only calls whose task sleeps at a checkpoint remain (they would wait forever). */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.#settledWaiter = resolve;
      this.#checkSettled();
    });
  }

  close(): void {
    this.#closed = true;
    this.#stopper.close();
    this.#options.limits.close();
    this.#batches.close();
  }

  #checkSettled(): void {
    if (this.#settledWaiter === undefined || !this.#calls.idle()) return;
    const resolve = this.#settledWaiter;
    this.#settledWaiter = undefined;
    resolve();
  }
}
