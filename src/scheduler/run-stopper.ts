/**
 * Stopping a run that was cancelled or ran out of time: its control word says CANCEL
 * (ctx.signal aborts, the next checkpoint throws), and a thread still running the task
 * `cancelGraceMs` later is terminated (the pool starts a replacement). One timer per run
 * being stopped, which is rare: they are kept here, not on the task.
 */
import { CANCEL, type ControlSlots } from '../workers/control.js';
import type { LiveTask } from './live-task.js';

export interface RunStopperOptions {
  controls: ControlSlots;
  cancelGraceMs: number;
  /** Whether the task is still this host's and on a thread (else there is nothing to terminate). */
  stillRunning(task: LiveTask): boolean;
  terminateThread(threadId: number): void;
}

export class RunStopper {
  readonly #timers = new Map<LiveTask, NodeJS.Timeout>();
  readonly #options: RunStopperOptions;

  constructor(options: RunStopperOptions) {
    this.#options = options;
  }

  /** False if the task is not on a thread. */
  stop(task: LiveTask): boolean {
    if (task.slot < 0) return false;
    if (this.#timers.has(task)) return true;
    this.#options.controls.set(task.slot, CANCEL);
    // One task of a batch handler's call: terminating the thread would lose the others. It
    // ends cancelled (or timed out) when the call returns.
    if (task.call?.handlerBatch === true) return true;
    this.#timers.set(task, setTimeout(() => this.#terminate(task), this.#options.cancelGraceMs));
    return true;
  }

  /** The run is over: no thread is to be terminated for it any more. */
  ended(task: LiveTask): void {
    if (this.#timers.size === 0) return;
    const timer = this.#timers.get(task);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(task);
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /** The grace is over and the task still runs: terminate its thread. */
  #terminate(task: LiveTask): void {
    this.#timers.delete(task);
    if (!this.#options.stillRunning(task)) return;
    const threadId = this.#options.controls.runningThread(task.slot);
    if (threadId !== 0) this.#options.terminateThread(threadId);
  }
}
