/**
 * The dispatcher: sends tasks from the top of the heap to the pool and applies what the
 * workers report back (outcomes, progress, pause acknowledgements, a thread that died).
 *
 * Dispatch is event-driven: it runs (once per microtask at most) after a submit, a resume,
 * a finished call; never on a timer. `concurrency` calls run at once, one per thread, and as
 * many may wait behind them (see dispatch); a call carries one task, or a batch of short
 * ones (see ./batch-planner.ts).
 */
import { CANCEL } from '../workers/control.js';
import type { TaskOutcome, TaskRequest, WorkerEvent } from '../workers/protocol.js';

/** What a running task's thread tells the host (everything but the services port). */
export type WorkerReport = Exclude<WorkerEvent, { type: 'host-port' }>;
import type { Engine, EngineParts } from './engine.js';
import type { TaskError } from '../types.js';
import { CANCELLED, settle, type Call, type LiveTask } from './live-task.js';
import { DispatchTurn } from './dispatch-turn.js';

/** Only lone tasks expected to take at most this long are sent ahead of a thread's current call. */
const AHEAD_MAX_MS = 10;
/**
 * A batch sent ahead holds at most this share of the batch budget, so an urgent arrival waits
 * behind at most ~1.5 budgets of batched work. (With batches kept back, a thread emptied its
 * batch and then slept until the host's answer: no-op floods ran ~25% slower, more at a lower
 * thread priority, since a waking low-priority thread waits for a core.)
 */
const AHEAD_BATCH_SHARE = 0.5;

export class Dispatcher {
  private readonly calls = new Set<Call>();
  private readonly turn = new DispatchTurn(() => this.dispatch());
  private dispatchScheduled = false;
  /** The rank of the last call's first task (its highest: a batch is a prefix of the heap). */
  private sentRank = -1;
  /** Calls that revokeOutranked may take tasks back from (not batches of short tasks). */
  private revocableCalls = 0;
  private drainWaiter: (() => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly parts: EngineParts,
  ) {}

  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.engine.state !== 'open') return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
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
  private dispatch(): void {
    // The turn's budget holds back the flow, not a task that outranks it.
    if (this.turn.spent() && !this.outranked()) return;
    // First: a task that outranks unstarted ones on the threads must not be queued behind them.
    this.revokeOutranked();
    this.fill();
  }

  /** Sends calls while there is room on the threads, alone, in batches or ahead (see dispatch). */
  private fill(): void {
    const { planner, typeLimits } = this.parts;
    // Threads being replaced take no call until they are ready (WorkerPool.readyThreads).
    const threads = Math.min(this.parts.concurrency, this.parts.pool.readyThreads);
    while (this.engine.state === 'open' && this.calls.size < 2 * threads) {
      const ahead = this.calls.size >= threads;
      if (ahead) {
        const next = this.engine.queue.peek();
        const estimate = next === undefined ? undefined : planner.estimate(next.type);
        if (estimate === undefined || estimate > AHEAD_MAX_MS) return;
        // Nor while a thread sleeps at a checkpoint: a call sent ahead could land behind it.
        if (this.anyAsleep()) return;
        // Nor a task that outranks the tasks of known length on the threads (whose unstarted
        // ones revokeOutranked took back): Piscina would queue it on whichever thread has room,
        // often the one that has just begun its next task. It waits for the first thread to
        // come free instead.
        if (this.revocableCalls > 0 && next!.rank > this.sentRank) return;
      }
      const first = this.engine.queue.pop();
      if (first === undefined) return;
      if (!typeLimits.allows(first.type)) {
        typeLimits.park(first);
        continue;
      }
      const batch = [first];
      if (planner.isShort(first.type)) {
        const share = ahead ? AHEAD_BATCH_SHARE : 1;
        let plannedMs = planner.estimate(first.type)!;
        for (let next = this.engine.queue.peek(); next !== undefined && planner.fits(plannedMs, batch.length, next.type, share); next = this.engine.queue.peek()) {
          if (!this.roomFor(batch, next.type)) break;
          batch.push(this.engine.queue.pop()!);
          plannedMs += planner.estimate(next.type)!;
        }
      } else if (ahead) {
        this.addAhead(batch, planner.estimate(first.type)!);
      }
      this.send(batch, ahead);
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
  private addAhead(batch: LiveTask[], plannedMs: number): void {
    const { planner } = this.parts;
    for (let next = this.engine.queue.peek(); next !== undefined && next.rank === batch[0]!.rank && batch.length < planner.maxBatch; next = this.engine.queue.peek()) {
      const ms = planner.estimate(next.type);
      if (ms === undefined || plannedMs + ms > AHEAD_MAX_MS || next.limits.timeoutMs !== null) return;
      if (!this.roomFor(batch, next.type)) return;
      batch.push(this.engine.queue.pop()!);
      plannedMs += ms;
    }
  }

  /** A task of this type may join the batch within its type's concurrency limit, if any. */
  private roomFor(batch: LiveTask[], type: string): boolean {
    const { typeLimits } = this.parts;
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
  private revokeOutranked(): void {
    if (this.revocableCalls === 0) return; // the no-op flood's case: nothing to iterate
    const top = this.engine.queue.peek();
    if (top === undefined || this.engine.state !== 'open') return;
    let lowest = Number.POSITIVE_INFINITY;
    for (const call of this.calls) if (call.lowRank < lowest) lowest = call.lowRank;
    if (top.rank <= lowest) return;
    for (const call of this.calls) {
      if (call.lowRank < top.rank) this.takeBack(call, top.rank);
    }
  }

  /** The task at the top of the heap has a higher priority than the last call sent. */
  private outranked(): boolean {
    const next = this.engine.queue.peek();
    return next !== undefined && next.rank > this.sentRank;
  }

  private send(tasks: LiveTask[], ahead: boolean): void {
    this.sentRank = tasks[0]!.rank;
    const now = Date.now();
    // Only calls sent ahead with tasks of a known length, not short ones, may be taken back
    // for a higher-priority task (see revokeOutranked); their tasks share one rank. (A lone
    // call to a free thread starts at once.)
    const revocable = ahead && !this.parts.planner.isShort(tasks[0]!.type);
    const lowRank = revocable ? tasks[0]!.rank : Number.POSITIVE_INFINITY;
    const call: Call = { tasks, slots: new Array(tasks.length), held: 0, ahead, revocable, lowRank };
    if (revocable) this.revocableCalls++;
    const requests: TaskRequest[] = new Array(tasks.length);
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      task.slot = call.slots[i] = this.parts.controls.acquire()!;
      task.call = call;
      task.received = 0;
      this.parts.typeLimits.sent(task);
      this.engine.timers.startRun(task, now);
      const request: TaskRequest = { id: task.id, type: task.type, payload: task.payload, attempt: task.attempts + 1, slot: task.slot };
      // Only what a task has travels: most have no parents and no saved state.
      if (task.dependencies !== undefined) request.dependencies = task.dependencies;
      if (task.failedDependencies !== undefined) request.failedDependencies = task.failedDependencies;
      if (task.checkpoint !== null) request.checkpoint = task.checkpoint;
      requests[i] = request;
      // A task sent alone to a free thread starts at once. One sent ahead says when it starts
      // if someone listens for events; one in a batch (or unheard) is found started by a read
      // (syncStarts) or reported with its end. The message costs both threads: cpu-scaling
      // 0.947 -> 0.975 without it (2000 tasks of 4 ms, 7 rounds in turns).
      if (tasks.length === 1 && !ahead) this.engine.markStarted(task, now);
      else {
        if (tasks.length === 1 && this.parts.bus.observed) request.announce = true;
        this.engine.move(task, 'dispatched', undefined, now);
      }
    }
    this.calls.add(call);
    this.parts.pool.runBatch(requests).then(
      (outcomes) => this.onOutcomes(call, outcomes),
      (error: unknown) => this.onCallFailed(call, error),
    );
  }

  /** The task's call is still the one that owns it (not detached by a pause or cancel). */
  private owns(call: Call, index: number): LiveTask | undefined {
    const task = call.tasks[index]!;
    return task.slot === call.slots[index] && !task.ended ? task : undefined;
  }

  private onOutcomes(call: Call, outcomes: TaskOutcome[]): void {
    this.turn.begin();
    if (this.engine.state !== 'stopped') {
      for (let i = 0; i < outcomes.length; i++) {
        const task = this.owns(call, i);
        if (task !== undefined) this.applyOutcome(task, outcomes[i]!, call);
      }
    }
    // A held outcome still counts its task as running: the call's place is not free yet.
    if (call.held === 0) this.endCall(call);
  }

  private applyOutcome(task: LiveTask, outcome: TaskOutcome, call: Call): void {
    task.slot = -1;
    if (task.earlyOutcome === undefined && task.received < outcome.posted) {
      // Some of its messages are still on the way over the other port: finish after them.
      task.earlyOutcome = outcome;
      call.held++;
      return;
    }
    if (task.earlyOutcome !== undefined) {
      task.earlyOutcome = undefined;
      if (--call.held === 0) queueMicrotask(() => this.endCall(call));
    }
    if (outcome.progress !== undefined) this.engine.coalescer.push(task.id, outcome.progress);
    if (outcome.startedAt === null) {
      // It never ran: the worker found it paused or stopped before starting it.
      if (task.phase === 'running') this.unstart(task);
      if (outcome.kind === 'held') this.engine.hold(task);
      else if (task.cancelRequested) this.engine.finish(task, 'cancelled', { error: CANCELLED });
      else this.requeue(task); // its time ran out while it waited behind others in its batch
      return;
    }
    this.parts.planner.record(task.type, outcome.runMs);
    // A task of a batch: its start is learnt with its end, and written with it in one patch.
    if (task.phase === 'dispatched') this.engine.announceStart(task, outcome.startedAt);
    // One a read found running (syncStarts) took the read's time: the thread knows better.
    else if (task.startedAt !== null && outcome.startedAt < task.startedAt) task.startedAt = outcome.startedAt;
    if (outcome.kind === 'completed') this.engine.finish(task, 'completed', { result: outcome.result }, outcome.endedAt);
    else if (outcome.kind === 'failed') this.engine.fail(task, outcome.error, outcome.endedAt);
    else if (task.timedOut && !task.cancelRequested) this.engine.fail(task, this.timeoutError(task), outcome.endedAt);
    else this.engine.finish(task, 'cancelled', { error: CANCELLED }, outcome.endedAt);
  }

  /** The worker thread died under the call (crash, or terminated after a cancel's grace). */
  private onCallFailed(call: Call, error: unknown): void {
    if (this.engine.state !== 'stopped') {
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.owns(call, i);
        if (task === undefined) continue;
        // Running when its thread died (one it had finished lost its outcome with the call).
        const started = this.parts.controls.runningThread(call.slots[i]!) !== 0;
        task.slot = -1;
        if (task.cancelRequested) {
          this.engine.finish(task, 'cancelled', { error: CANCELLED });
        } else if (started) {
          if (task.phase === 'dispatched') this.engine.markStarted(task, Date.now());
          this.engine.fail(task, task.timedOut ? this.timeoutError(task) : this.crashError(error));
        } else {
          if (task.phase === 'running') this.unstart(task);
          this.requeue(task);
        }
      }
    }
    this.endCall(call);
  }

  /** Back into the heap, to run (again) from the start. */
  private requeue(task: LiveTask): void {
    this.engine.endRun(task);
    this.engine.move(task, 'waiting');
    this.engine.enqueue(task, Date.now());
  }

  /**
   * Stops a run: its control word says CANCEL (ctx.signal aborts, the next checkpoint
   * throws), and a thread still running after `cancelGraceMs` is terminated and replaced.
   */
  stopRun(task: LiveTask): void {
    if (task.graceTimer !== undefined || task.slot < 0) return;
    this.parts.controls.set(task.slot, CANCEL);
    task.graceTimer = setTimeout(() => this.terminate(task), this.parts.cancelGraceMs);
  }

  /** The grace is over and the task still runs: terminate its thread. */
  private terminate(task: LiveTask): void {
    task.graceTimer = undefined;
    if (this.engine.live.get(task.id) !== task || task.slot < 0) return;
    const threadId = this.parts.controls.runningThread(task.slot);
    if (threadId !== 0) this.parts.pool.terminateThread(threadId);
  }

  /** A run's deadline has come. */
  timeOut(task: LiveTask): void {
    if (this.engine.live.get(task.id) !== task || task.slot < 0) return;
    if (task.phase !== 'running' && task.phase !== 'dispatched') return;
    task.timedOut = true;
    this.stopRun(task);
  }

  private timeoutError(task: LiveTask): TaskError {
    return {
      code: 'ERR_TIMEOUT',
      message: `The task ran longer than its timeoutMs (${task.limits.timeoutMs} ms) and was stopped.`,
    };
  }

  private crashError(error: unknown): TaskError {
    const reason = error instanceof Error ? error.message : String(error);
    if ((error as { code?: unknown })?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const limits = Object.entries(this.parts.resourceLimits ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
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
  private requeueBehind(call: Call): void {
    this.takeBack(call);
    // A call sent ahead may be queued behind this one on its thread: one that has not
    // started anything is taken back too (the host cannot tell which thread holds it).
    for (const other of this.calls) {
      if (other !== call && other.ahead && other.slots.every((slot) => this.parts.controls.unstarted(slot))) this.takeBack(other);
    }
    this.scheduleDispatch();
  }

  /**
   * Marks `running` the tasks that were sent without a start message (in a batch, or ahead
   * with nobody listening) and that a thread has begun (its control word names the thread),
   * so a read sees them as they are. Their start time is corrected when their outcome comes.
   */
  syncStarts(): void {
    if (this.engine.state === 'stopped') return;
    const now = Date.now();
    for (const call of this.calls) {
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.owns(call, i);
        if (task !== undefined) this.syncStart(task, now);
      }
    }
  }

  /** The same for one task (a read of it). */
  syncStart(task: LiveTask, now = Date.now()): void {
    if (task.phase === 'dispatched' && task.slot >= 0 && this.parts.controls.started(task.slot)) this.engine.markStarted(task, now);
  }

  /** Some thread holds a task asleep at a checkpoint. */
  private anyAsleep(): boolean {
    for (const call of this.calls) {
      for (let i = 0; i < call.tasks.length; i++) if (this.owns(call, i)?.phase === 'suspended') return true;
    }
    return false;
  }

  /**
   * The tasks of a call that have not started (those ranked below `below`, if given) go back
   * to the heap; the worker skips them.
   */
  private takeBack(call: Call, below = Number.POSITIVE_INFINITY): void {
    let lowRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i < call.tasks.length; i++) {
      const task = this.owns(call, i);
      if (task === undefined || task.phase !== 'dispatched') continue;
      if (task.rank >= below) {
        lowRank = Math.min(lowRank, task.rank);
      } else if (this.detach(task)) {
        this.engine.move(task, 'waiting');
        this.engine.enqueue(task, Date.now());
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
  detach(task: LiveTask): boolean {
    if (!this.parts.controls.revoke(task.slot)) return false;
    task.slot = -1;
    return true;
  }

  private endCall(call: Call): void {
    if (call.revocable) this.revocableCalls--;
    for (const slot of call.slots) this.parts.controls.release(slot);
    for (const task of call.tasks) {
      const unparked = this.parts.typeLimits.ended(task);
      if (unparked !== undefined) this.engine.queue.push(unparked);
    }
    this.calls.delete(call);
    this.checkDrained();
    this.dispatch();
  }

  /** Undoes the start counted when a lone task was sent, for a task that never ran. */
  private unstart(task: LiveTask): void {
    task.attempts--;
    task.startedAt = null;
    this.engine.writeRow(task, { attempts: task.attempts, startedAt: null, updatedAt: Date.now() });
  }

  /** A running task's thread reports progress, or that it stopped at / left a checkpoint. */
  onWorkerEvent(event: WorkerReport): void {
    const task = this.engine.live.get(event.id);
    if (task === undefined || this.engine.state === 'stopped') return;
    if (task.slot < 0 && task.earlyOutcome === undefined) return; // from a run taken back
    task.received++;
    // A task of a batch (or sent ahead) that speaks has started.
    if (task.phase === 'dispatched') this.engine.markStarted(task, event.type === 'started' ? event.at : Date.now());
    if (event.type === 'progress') {
      this.engine.coalescer.push(task.id, { progress: event.progress, message: event.message });
    } else if (event.type === 'checkpoint') {
      this.engine.saveCheckpoint(task, event.state);
    } else if (event.type === 'paused' && task.phase === 'running') {
      this.engine.move(task, 'suspended', undefined, event.at);
      task.pauseRequested = false;
      task.pauseWaiters = settle(task.pauseWaiters);
      this.engine.timers.pauseRun(task, Date.now());
      if (this.parts.bus.observed) this.parts.bus.emit({ type: 'paused', taskId: task.id, at: event.at });
      this.requeueBehind(task.call!);
      this.checkDrained();
    } else if (event.type === 'resumed' && task.phase === 'suspended') {
      this.engine.move(task, 'running', undefined, event.at);
      task.resumeWaiters = settle(task.resumeWaiters);
      this.engine.timers.resumeRun(task, Date.now());
      if (this.parts.bus.observed) this.parts.bus.emit({ type: 'resumed', taskId: task.id, at: event.at });
    }
    // The outcome came first (another port); now that all the run said is in, apply it.
    if (task.earlyOutcome !== undefined && task.received >= task.earlyOutcome.posted) {
      this.applyOutcome(task, task.earlyOutcome, task.call!);
    }
  }

  /**
   * Graceful close: no more dispatch; resolves once every call has ended, or only calls
   * whose task sleeps paused at a checkpoint remain (they would wait forever).
   */
  drain(): Promise<void> {
    this.engine.state = 'draining';
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (this.drainWaiter === undefined) return;
    for (const call of this.calls) {
      // Still working: a call with a task of its own that is not asleep at a checkpoint. (A
      // call whose tasks were all taken back is only waiting behind such a sleeper.)
      let owned = false;
      let asleep = false;
      for (let i = 0; i < call.tasks.length; i++) {
        const task = this.owns(call, i);
        if (task === undefined) continue;
        owned = true;
        if (task.phase === 'suspended') asleep = true;
      }
      if (owned && !asleep) return;
    }
    const resolve = this.drainWaiter;
    this.drainWaiter = undefined;
    resolve();
  }
}
