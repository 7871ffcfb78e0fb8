/**
 * A submit's `signal`, as Piscina's `run({ signal })` and Node's own APIs take one: when it
 * aborts, the task is cancelled (queued: at once; running: the two-phase cancel). The
 * listener is removed once the task has ended, so a long-lived signal shared by many tasks
 * does not keep every one of them.
 */
import { TaskCancelledError } from '../errors.js';

/** An aborted signal at submit: nothing is stored, and the caller hears ERR_TASK_CANCELLED. */
export function abortedBeforeSubmit(): TaskCancelledError {
  return new TaskCancelledError('', 'not submitted: its signal was aborted already');
}

export function cancelOnAbort(signal: AbortSignal, id: string, cancel: (id: string) => Promise<void>, ended: Promise<unknown>): void {
  // A cancel that finds the task ended already (or the runtime closed) has nothing to do.
  const onAbort = (): void => void cancel(id).catch(() => undefined);
  if (signal.aborted) {
    onAbort(); // it aborted while the submit was being stored
    return;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  const stop = (): void => signal.removeEventListener('abort', onAbort);
  ended.then(stop, stop);
}
