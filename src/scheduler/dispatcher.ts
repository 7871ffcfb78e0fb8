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
import type { TaskError } from '../types.js';
import { CANCEL, PAUSE, RUN, type ControlSlots } from '../workers/control.js';
import type { TaskOutcome, TaskRequest, WorkerEvent } from '../workers/protocol.js';
import type { BatchPlanner } from './batch-planner.js';
import { DispatchTurn } from './dispatch-turn.js';
import type { Call, LiveTask } from './live-task.js';
import type { DispatchSource, TaskRunner } from './ports.js';
import type { TypeLimits } from './type-limits.js';

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
  typeLimits: TypeLimits;
  concurrency: number;
  cancelGraceMs: number;
  resourceLimits: ResourceLimits | undefined;
  /** Whether anyone listens to task events (a task sent ahead then announces its start). */
  events: { readonly observed: boolean };
}

/** Only lone tasks expected to take at most this long are sent ahead of a thread's current call. */
const AHEAD_MAX_MS = 10;
/**
 * A batch sent ahead holds at most this share of the batch budget, so an urgent arrival waits
 * behind at most ~1.5 budgets of batched work. (With batches kept back, a thread emptied its
 * batch and then slept until the host's answer: no-op floods ran ~25% slower, more at a lower
 * thread priority, since a waking low-priority thread waits for a core.)
 */
const AHEAD_BATCH_SHARE = 0.5;

export class Dispatcher implements TaskRunner {
  readonly #options: DispatcherOptions;
  readonly #source: DispatchSource;
  readonly #calls = new Set<Call>();
  readonly #turn = new DispatchTurn(() => this.#dispatch());
  /** Outcomes that arrived before all of their run's messages; applied once those are in. */
  readonly #early = new Map<LiveTask, TaskOutcome>();
  /** Cancelled runs still going: their thread is terminated when the grace is over. */
  readonly #graceTimers = new Map<LiveTask, NodeJS.Timeout>();
  #dispatchScheduled = false;
  #closed = false;
  /** The rank of the last call's first task (its highest: a batch is a prefix of the heap). */
  #sentRank = -1;
  /** Calls that revokeOutranked may take tasks back from (not batches of short tasks). */
  #revocableCalls = 0;
  #settledWaiter: (() => void) | undefined;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#source = options.source;
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
    // The turn's budget holds back the flow, not a task that outranks it.
    if (this.#turn.spent() && !this.#outranked()) return;
    // First: a task that outranks unstarted ones on the threads must not be queued behind them.
    this.#revokeOutranked();
    this.#fill();
  }

  /** Sends calls while there is room on the threads, alone, in batches or ahead (see dispatch). */
  #fill(): void {
    const { planner, typeLimits, pool, concurrency } = this.#options;
    const source = this.#source;
    // Threads being replaced take no call until they are ready (WorkerPool.readyThreads).
    const threads = Math.min(concurrency, pool.readyThreads);
    while (source.dispatching && this.#calls.size < 2 * threads) {
      const ahead = this.#calls.size >= threads;
      if (ahead) {
        const next = source.peek();
        const estimate = next === undefined ? undefined : planner.estimate(next.type);
        if (estimate === undefined || estimate > AHEAD_MAX_MS) return;
        // Nor while a thread sleeps at a checkpoint: a call sent ahead could land behind it.
        if (this.#anyAsleep()) return;
        // Nor a task that outranks the tasks of known length on the threads (whose unstarted
        // ones revokeOutranked took back): Piscina would queue it on whichever thread has room,
        // often the one that has just begun its next task. It waits for the first thread to
        // come free instead.
        if (this.#revocableCalls > 0 && next!.rank > this.#sentRank) return;
      }
      const first = source.pop();
      if (first === undefined) return;
      if (!typeLimits.allows(first.type)) {
        typeLimits.park(first);
        continue;
      }
      const batch = [first];
      if (planner.isShort(first.type)) {
        const share = ahead ? AHEAD_BATCH_SHARE : 1;
        let plannedMs = planner.estimate(first.type)!;
        for (let next = source.peek(); next !== undefined && planner.fits(plannedMs, batch.length, next.type, share); next = source.peek()) {
          if (!this.#roomFor(batch, next.type)) break;
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
      if (!this.#roomFor(batch, next.type)) return;
      batch.push(source.pop()!);
      plannedMs += ms;
    }
  }

  /** A task of this type may join the batch within its type's concurrency limit, if any. */
  #roomFor(batch: LiveTask[], type: string): boolean {
    const { typeLimits } = this.#options;
    return !typeLimits.limited || typeLimits.allows(type, batch.filter((t) => t.type === type).length);
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
    if (this.#revocableCalls === 0) return; // the no-op flood's case: nothing to iterate
    const top = this.#source.peek();
    if (top === undefined || !this.#source.dispatching) return;
    let lowest = Number.POSITIVE_INFINITY;
    for (const call of this.#calls) if (call.lowRank < lowest) lowest = call.lowRank;
    if (top.rank <= lowest) return;
    for (const call of this.#calls) {
      if (call.lowRank < top.rank) this.#takeBackCall(call, top.rank);
    }
  }

  /** The task at the top of the heap has a higher priority than the last call sent. */
  #outranked(): boolean {
    const next = this.#source.peek();
    return next !== undefined && next.rank > this.#sentRank;
  }

  #send(tasks: LiveTask[], ahead: boolean): void {
    const { controls, planner, typeLimits, events, pool } = this.#options;
    this.#sentRank = tasks[0]!.rank;
    const now = Date.now();
    // Only calls sent ahead with tasks of a known length, not short ones, may be taken back
    // for a higher-priority task (see revokeOutranked); their tasks share one rank. (A lone
    // call to a free thread starts at once.)
    const revocable = ahead && !planner.isShort(tasks[0]!.type);
    const lowRank = revocable ? tasks[0]!.rank : Number.POSITIVE_INFINITY;
    const call: Call = { tasks, slots: new Array(tasks.length), held: 0, ahead, revocable, lowRank };
    if (revocable) this.#revocableCalls++;
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
      typeLimits.sent(task);
      const request: TaskRequest = { id: task.id, type: task.type, payload: task.payload, attempt: task.attempts + 1, slot: task.slot };
      // Only what a task has travels: most have no parents and no saved state.
      if (task.dependencies !== undefined) request.dependencies = task.dependencies;
      if (task.failedDependencies !== undefined) request.failedDependencies = task.failedDependencies;
      if (task.checkpoint !== null) request.checkpoint = task.checkpoint;
      if (tasks.length === 1 && ahead && events.observed) request.announce = true;
      requests[i] = request;
      this.#source.sent(task, startsNow, now);
    }
    this.#calls.add(call);
    pool.runBatch(requests).then(
      (outcomes) => this.#onOutcomes(call, outcomes),
      (error: unknown) => this.#onCallFailed(call, error),
    );
  }

  /** The task's call is still the one that owns it (not taken back, not ended). */
  #owns(call: Call, index: number): LiveTask | undefined {
    const task = call.tasks[index]!;
    return task.slot === call.slots[index] && !task.ended ? task : undefined;
  }

  #onOutcomes(call: Call, outcomes: TaskOutcome[]): void {
    this.#turn.begin();
    if (!this.#closed) {
      for (let i = 0; i < outcomes.length; i++) {
        const task = this.#owns(call, i);
        if (task !== undefined) this.#applyOutcome(task, outcomes[i]!, call);
      }
    }
    // A held outcome still counts its task as running: the call's place is not free yet.
    if (call.held === 0) this.#endCall(call);
  }

  #applyOutcome(task: LiveTask, outcome: TaskOutcome, call: Call): void {
    task.slot = -1;
    const early = this.#early.get(task);
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
    this.#endGrace(task);
    if (outcome.startedAt !== null) this.#options.planner.record(task.type, outcome.runMs);
    this.#source.outcome(task, outcome);
  }

  /** The worker thread died under the call (crash, or terminated after a cancel's grace). */
  #onCallFailed(call: Call, error: unknown): void {
    if (!this.#closed) {
      const crash = this.#crashError(error);
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.#owns(call, i);
        if (task === undefined) continue;
        // Running when its thread died (one it had finished lost its outcome with the call).
        const started = this.#options.controls.runningThread(call.slots[i]!) !== 0;
        task.slot = -1;
        this.#endGrace(task);
        this.#source.crashed(task, started, crash);
      }
    }
    this.#endCall(call);
  }

  signal(task: LiveTask, request: 'pause' | 'run'): void {
    this.#options.controls.set(task.slot, request === 'pause' ? PAUSE : RUN);
  }

  /**
   * Stops a run: its control word says CANCEL (ctx.signal aborts, the next checkpoint
   * throws), and a thread still running after `cancelGraceMs` is terminated and replaced.
   */
  stop(task: LiveTask): boolean {
    if (task.slot < 0) return false;
    if (this.#graceTimers.has(task)) return true;
    this.#options.controls.set(task.slot, CANCEL);
    this.#graceTimers.set(task, setTimeout(() => this.#terminate(task), this.#options.cancelGraceMs));
    return true;
  }

  /** The grace is over and the task still runs: terminate its thread. */
  #terminate(task: LiveTask): void {
    this.#graceTimers.delete(task);
    if (this.#source.get(task.id) !== task || task.slot < 0) return;
    const threadId = this.#options.controls.runningThread(task.slot);
    if (threadId !== 0) this.#options.pool.terminateThread(threadId);
  }

  /** The run is over: no thread is to be terminated for it any more. */
  #endGrace(task: LiveTask): void {
    if (this.#graceTimers.size === 0) return;
    const timer = this.#graceTimers.get(task);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#graceTimers.delete(task);
  }

  #crashError(error: unknown): TaskError {
    const reason = error instanceof Error ? error.message : String(error);
    if ((error as { code?: unknown })?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const limits = Object.entries(this.#options.resourceLimits ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
      return {
        code: 'ERR_WORKER_OUT_OF_MEMORY',
        message:
          `The worker thread running this task ran out of memory${limits ? ` (resourceLimits: ${limits})` : ''}: ${reason}. ` +
          'Raise resourceLimits or make the task use less memory.',
      };
    }
    return { code: 'ERR_WORKER_CRASHED', message: `The worker thread running this task exited: ${reason}` };
  }

  /**
   * A task of this call sleeps at a checkpoint: the tasks queued behind it in the same batch
   * would wait for as long as it stays paused, so they are taken back and queued again.
   */
  #requeueBehind(call: Call): void {
    this.#takeBackCall(call);
    // A call sent ahead may be queued behind this one on its thread: one that has not
    // started anything is taken back too (the host cannot tell which thread holds it).
    const { controls } = this.#options;
    for (const other of this.#calls) {
      if (other !== call && other.ahead && other.slots.every((slot) => controls.unstarted(slot))) this.#takeBackCall(other);
    }
    this.wake();
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
      this.#syncStart(only, now);
      return;
    }
    for (const call of this.#calls) {
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.#owns(call, i);
        if (task !== undefined) this.#syncStart(task, now);
      }
    }
  }

  #syncStart(task: LiveTask, now: number): void {
    if (task.phase === 'dispatched' && task.slot >= 0 && this.#options.controls.started(task.slot)) this.#source.started(task, now);
  }

  /** Some thread holds a task asleep at a checkpoint. */
  #anyAsleep(): boolean {
    for (const call of this.#calls) {
      for (let i = 0; i < call.tasks.length; i++) if (this.#owns(call, i)?.phase === 'suspended') return true;
    }
    return false;
  }

  /**
   * The tasks of a call that have not started (those ranked below `below`, if given) go back
   * to the heap; the worker skips them.
   */
  #takeBackCall(call: Call, below = Number.POSITIVE_INFINITY): void {
    let lowRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i < call.tasks.length; i++) {
      const task = this.#owns(call, i);
      if (task === undefined || task.phase !== 'dispatched') continue;
      if (task.rank >= below) {
        lowRank = Math.min(lowRank, task.rank);
      } else if (this.takeBack(task)) {
        this.#source.takenBack(task);
      } // else its thread has started it: it can no longer be taken back
    }
    call.lowRank = lowRank;
  }

  /**
   * Takes a task back from the call it was sent in, before it started: its slot says no
   * worker may start it now (see ControlSlots.revoke), and the outcome for that slot is
   * ignored. False if its worker has started it (or even finished it: its outcome is on the
   * way); it stays where it is.
   */
  takeBack(task: LiveTask): boolean {
    if (!this.#options.controls.revoke(task.slot)) return false;
    task.slot = -1;
    return true;
  }

  #endCall(call: Call): void {
    const { controls, typeLimits } = this.#options;
    if (call.revocable) this.#revocableCalls--;
    for (const slot of call.slots) controls.release(slot);
    for (const task of call.tasks) {
      const unparked = typeLimits.ended(task);
      if (unparked !== undefined) this.#source.putBack(unparked);
    }
    this.#calls.delete(call);
    this.#checkSettled();
    this.#dispatch();
  }

  /** A running task's thread reports progress, or that it stopped at / left a checkpoint. */
  onWorkerEvent(event: WorkerReport): void {
    if (this.#closed) return;
    const task = this.#source.get(event.id);
    if (task === undefined) return;
    if (task.slot < 0 && !this.#early.has(task)) return; // from a run taken back
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
          this.#requeueBehind(task.call!);
          this.#checkSettled();
        }
        break;
      }
      case 'resumed':
        this.#source.report(task, { type: 'resumed', at: event.at });
        break;
    }
    // The outcome came first (another port); now that all the run said is in, apply it.
    const early = this.#early.get(task);
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
    for (const timer of this.#graceTimers.values()) clearTimeout(timer);
    this.#graceTimers.clear();
  }

  #checkSettled(): void {
    if (this.#settledWaiter === undefined) return;
    for (const call of this.#calls) {
      // Still working: a call with a task of its own that is not asleep at a checkpoint. (A
      // call whose tasks were all taken back is only waiting behind such a sleeper.)
      let owned = false;
      let asleep = false;
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.#owns(call, i);
        if (task === undefined) continue;
        owned = true;
        if (task.phase === 'suspended') asleep = true;
      }
      if (owned && !asleep) return;
    }
    const resolve = this.#settledWaiter;
    this.#settledWaiter = undefined;
    resolve();
  }
}
