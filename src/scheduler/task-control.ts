/**
 * pause, resume and cancel. Each resolves once what it asked for is true:
 * - a task that has not started is paused or cancelled at once;
 * - a running task is signalled through its control word, and the call resolves when the
 *   worker acknowledges (paused at a checkpoint, resumed from one) or the task has ended
 *   (cancelled). A cancelled task that ignores the signal for `cancelGraceMs` has its
 *   thread terminated.
 * If the task ends some other way first, the call rejects with ERR_INVALID_TRANSITION.
 */
import { InvalidTransitionError } from '../errors.js';
import { PAUSE, RUN } from '../workers/control.js';
import type { Priority } from '../types.js';
import type { Engine } from './engine.js';
import { CANCELLED, settle, type LiveTask, type Waiter } from './live-task.js';

type WaiterList = 'pauseWaiters' | 'resumeWaiters' | 'cancelWaiters';

function waitFor(task: LiveTask, list: WaiterList): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const waiter: Waiter = { resolve, reject };
    (task[list] ??= []).push(waiter);
  });
}

/** A task sent in a batch that its thread has started without a word yet: running from now on. */
function startedNow(engine: Engine, task: LiveTask): LiveTask {
  engine.markStarted(task, Date.now());
  return task;
}

export class TaskControl {
  constructor(private readonly engine: Engine) {}

  pause(task: LiveTask): Promise<void> {
    const { engine } = this;
    switch (task.phase) {
      case 'scheduled':
        engine.timers.undelay(task);
      // falls through: it has not started, so it is held at once
      case 'blocked':
      case 'waiting':
        engine.hold(task);
        return engine.parts.writer.ack();
      case 'dispatched':
        // Its thread may have just started it (nothing said so yet): then it is paused as running.
        if (!engine.dispatcher.detach(task)) return this.pause(startedNow(engine, task));
        engine.hold(task);
        return engine.parts.writer.ack();
      case 'running':
        if (task.cancelRequested || task.timedOut) {
          throw new InvalidTransitionError(task.id, 'running', 'pause', 'it is being stopped');
        }
        if (!task.pauseRequested) {
          task.pauseRequested = true;
          engine.parts.controls.set(task.slot, PAUSE);
        }
        return waitFor(task, 'pauseWaiters');
      default:
        throw new InvalidTransitionError(task.id, task.status, 'pause', 'it is already paused');
    }
  }

  resume(task: LiveTask): Promise<void> {
    const { engine } = this;
    if (task.cancelRequested) throw new InvalidTransitionError(task.id, task.status, 'resume', 'it is being cancelled');
    switch (task.phase) {
      case 'held': {
        const at = Date.now();
        engine.unhold(task, at);
        if (engine.parts.bus.observed) engine.parts.bus.emit({ type: 'resumed', taskId: task.id, at });
        return engine.parts.writer.ack();
      }
      case 'suspended':
        engine.parts.controls.set(task.slot, RUN);
        return waitFor(task, 'resumeWaiters');
      case 'running':
        if (task.pauseRequested) {
          // Withdrawn before the thread reached a checkpoint: it never stopped.
          task.pauseRequested = false;
          engine.parts.controls.set(task.slot, RUN);
          const withdrawn = new InvalidTransitionError(task.id, 'running', 'pause', 'resumed before it reached a checkpoint');
          task.pauseWaiters = settle(task.pauseWaiters, withdrawn);
          return Promise.resolve();
        }
      // falls through: running and not pausing
      default:
        throw new InvalidTransitionError(task.id, task.status, 'resume', 'it is not paused');
    }
  }

  setPriority(task: LiveTask, priority: Priority): Promise<void> {
    if (task.phase === 'dispatched' && !this.engine.dispatcher.detach(task)) startedNow(this.engine, task);
    if (task.phase === 'running' || task.phase === 'suspended') {
      throw new InvalidTransitionError(task.id, task.status, 'change the priority of', 'it has started');
    }
    this.engine.setPriority(task, priority);
    return this.engine.parts.writer.ack();
  }

  cancel(task: LiveTask): Promise<void> {
    const { engine } = this;
    switch (task.phase) {
      case 'dispatched':
        if (!engine.dispatcher.detach(task)) return this.cancel(startedNow(engine, task)); // its thread has just started it
      // falls through: it has not started, so it ends now
      case 'waiting':
      case 'scheduled':
      case 'blocked':
      case 'held':
        engine.finish(task, 'cancelled', { error: CANCELLED });
        return engine.parts.writer.ack();
      default:
        if (!task.cancelRequested) {
          task.cancelRequested = true;
          task.pauseRequested = false;
          engine.dispatcher.stopRun(task);
        }
        return waitFor(task, 'cancelWaiters');
    }
  }
}
