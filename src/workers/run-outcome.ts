/**
 * How a handler's return value or throw becomes a task's outcome, worker side: shared by a
 * lone task's run (worker-entry.ts) and a batch handler's call (batch-call.ts).
 */
import { serialize } from 'node:v8';
import { PayloadTooLargeError } from '../errors.js';
import type { TaskError } from '../types.js';
import type { TaskOutcome } from './protocol.js';

/** What every outcome of a run that began carries. */
export type RunBase = Omit<Extract<TaskOutcome, { kind: 'completed' }>, 'kind' | 'result'>;

/**
 * A returned value as an outcome. Serialized here, so a result that cannot be cloned fails
 * its task alone and never a batch; and measured here, where its bytes already are, so one
 * over `maxResultBytes` (maxPayloadBytes) does too.
 */
export function resultOutcome(base: RunBase, value: unknown, maxResultBytes: number): TaskOutcome {
  let result: Uint8Array | null = null;
  try {
    if (value !== undefined) result = serialize(value);
  } catch (cause) {
    const message = `The result cannot be structured-cloned: ${(cause as Error).message}. Return plain data.`;
    return { ...base, kind: 'failed', error: { code: 'ERR_NOT_CLONEABLE', message } };
  }
  if (result !== null && result.byteLength > maxResultBytes) {
    const { code, message } = new PayloadTooLargeError(`the result of task "${base.id}"`, result.byteLength, maxResultBytes);
    return { ...base, kind: 'failed', error: { code, message } };
  }
  return { ...base, kind: 'completed', result };
}

/** A stack is for finding the line that threw: the top frames, not a whole recursion. */
const STACK_MAX = 4096;

export function describeError(thrown: unknown): TaskError {
  if (typeof thrown === 'object' && thrown !== null) {
    const { code, message, stack } = thrown as { code?: unknown; message?: unknown; stack?: unknown };
    const error: TaskError = {
      code: typeof code === 'string' ? code : 'ERR_TASK_FAILED',
      message: typeof message === 'string' ? message : String(thrown),
    };
    if (typeof stack === 'string' && stack !== '') error.stack = stack.slice(0, STACK_MAX);
    return error;
  }
  return { code: 'ERR_TASK_FAILED', message: String(thrown) };
}
