/**
 * The two narrow interfaces between the state owner (./task-states.ts) and the dispatcher
 * (./dispatcher.ts). Each side knows the other only through these, so neither imports the
 * other and the dispatcher can be driven by a test without a real state owner.
 *
 * The state owner decides every status; the dispatcher talks to the threads. A task travels:
 * the owner puts it in its ready queue and wakes the dispatcher; the dispatcher takes it
 * (`pop`), sends it, and says so (`sent`); what the thread reports comes back as `started`,
 * `report`, `outcome` or `crashed`, and the owner decides what that means.
 */
import type { MessagePort } from 'node:worker_threads';
import type { TaskError } from '../types.js';
import type { ProgressReport, TaskOutcome } from '../workers/protocol.js';
import type { LiveTask } from './live-task.js';

/** What the state owner asks of whoever runs tasks on threads. */
export interface TaskRunner {
  /** Ready tasks are waiting (or the owner opened): dispatch when there is room. */
  wake(): void;
  /**
   * Takes back a task sent to a thread that has not started it, so the thread skips it.
   * False if its thread has started it (or finished it: the outcome is on the way).
   */
  takeBack(task: LiveTask): boolean;
  /** Asks a running task's thread to stop at its next checkpoint, or to go on from one. */
  signal(task: LiveTask, request: 'pause' | 'run'): void;
  /**
   * Stops a run: the thread is told to cancel, and terminated if the task still runs after
   * `cancelGraceMs`. False if the task is not on a thread.
   */
  stop(task: LiveTask): boolean;
  /** The host handed on `count` more of a running task's emitted values: its thread may emit as many more. */
  consumeOutput(task: LiveTask, count: number): void;
  /** Tasks that threads have begun without a word yet are reported `started` now (before a read). */
  syncStarts(task?: LiveTask): void;
  /** Resolves once no call is at work (calls whose tasks sleep at a checkpoint excepted). */
  settled(): Promise<void>;
  /** The owner has stopped: nothing more is sent, and what threads say is no longer reported. */
  close(): void;
}

/** What a running task's thread said, as the state owner hears it. */
export type RunReport =
  | { type: 'progress'; report: ProgressReport }
  | { type: 'checkpoint'; state: Uint8Array }
  | { type: 'paused'; at: number }
  | { type: 'resumed'; at: number }
  | { type: 'output'; value: unknown }
  | { type: 'inbox'; port: MessagePort };

/** What the dispatcher asks of, and tells, the state owner. */
export interface DispatchSource {
  /** Calls may be sent (not while restoring, draining or stopped). */
  readonly dispatching: boolean;
  /** The ready task that goes next, without taking it. */
  peek(): LiveTask | undefined;
  /** Takes the ready task that goes next. */
  pop(): LiveTask | undefined;
  /** Threads have room and no task is ready (a shared queue then claims more). */
  starved(): void;
  /**
   * A task queued since the last ask is owed a place ahead of tasks already sent and not
   * begun: its group was idle (./fair-turns.ts). Answers once.
   */
  owedPlace(): boolean;
  /** A task taken with `pop` that must wait (its type is at its cap), back in the queue. */
  putBack(task: LiveTask): void;
  /**
   * Sent to a thread: `startsNow` for a lone task to a free thread, which counts as started.
   * Answers the W3C traceparent of the run's span, which the thread gets, while tracing.
   */
  sent(task: LiveTask, startsNow: boolean, at: number): string | undefined;
  /** Taken back before it started (its thread skips it): ready again. */
  takenBack(task: LiveTask): void;
  /** A thread has begun a task sent without a start of its own (in a batch, or ahead). */
  started(task: LiveTask, at: number): void;
  /** A running task's thread spoke (progress, a checkpoint, paused or resumed at one). */
  report(task: LiveTask, report: RunReport): void;
  /** How the thread says the task's run ended (or that it never began it). */
  outcome(task: LiveTask, outcome: TaskOutcome): void;
  /** The thread died under the task: `started` if it had begun it. */
  crashed(task: LiveTask, started: boolean, error: TaskError): void;
  /** The live task with this id, if this host holds it. */
  get(id: string): LiveTask | undefined;
}
