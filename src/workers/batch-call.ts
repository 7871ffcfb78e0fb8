/**
 * One call of a batch handler (defineBatchTask), worker side: every task of the call that
 * may start is claimed (as a lone task is), their payloads go to one handler call, and each
 * gets its own outcome from the result at its place: completed, failed (an Error there, a
 * result that cannot be cloned or is too large, or the whole call throwing), or cancelled
 * (its control word said so by the end). Each task has its own context for progress and
 * messages, so the host counts what each task posted, as for any task.
 */
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import type { BatchContext } from '../worker.js';
import type { BatchDefinition } from './batch-definition.js';
import { CANCEL, DONE, PAUSE, stateIndex, threadIndex } from './control.js';
import type { TaskOutcome, TaskRequest } from './protocol.js';
import { describeError, resultOutcome } from './run-outcome.js';
import { WorkerTaskContext, type ContextEnvironment } from './task-context.js';

export async function runBatchCall(
  tasks: readonly TaskRequest[],
  batch: BatchDefinition,
  env: ContextEnvironment,
  maxResultBytes: number,
): Promise<TaskOutcome[]> {
  const outcomes: TaskOutcome[] = new Array(tasks.length);
  const claimed: number[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    const state = Atomics.load(env.words, stateIndex(task.slot));
    const notRun = (kind: 'cancelled' | 'held'): TaskOutcome => ({ id: task.id, kind, startedAt: null, endedAt: Date.now(), runMs: 0, posted: 0 });
    if (state === CANCEL) outcomes[i] = notRun('cancelled');
    else if (state === PAUSE) outcomes[i] = notRun('held');
    else if (Atomics.compareExchange(env.words, threadIndex(task.slot), 0, threadId) !== 0) outcomes[i] = notRun('cancelled');
    else claimed.push(i);
  }
  if (claimed.length === 0) return outcomes;
  const contexts = claimed.map((i) => new WorkerTaskContext(tasks[i]!, env));
  const startedAt = Date.now();
  for (let k = 0; k < claimed.length; k++) if (tasks[claimed[k]!]!.announce) contexts[k]!.announceStart(startedAt);
  const clock = performance.now();
  let results: unknown;
  let thrown: { error: unknown } | undefined;
  try {
    results = await batch.handler(
      claimed.map((i) => tasks[i]!.payload),
      batchContext(claimed.map((i) => tasks[i]!), contexts, env),
    );
  } catch (error) {
    thrown = { error };
  }
  const runMs = (performance.now() - clock) / claimed.length;
  const endedAt = Date.now();
  if (thrown === undefined && (!Array.isArray(results) || results.length !== claimed.length)) {
    const got = Array.isArray(results) ? `${results.length} results` : typeof results;
    thrown = { error: { code: 'ERR_BATCH_RESULTS', message: `The batch handler must return one result (or Error) per payload, in order: ${claimed.length} payloads, got ${got}.` } };
  }
  for (let k = 0; k < claimed.length; k++) {
    const i = claimed[k]!;
    const task = tasks[i]!;
    const ctx = contexts[k]!;
    const progress = ctx.finish();
    const base = { id: task.id, startedAt, endedAt, runMs, posted: ctx.posted, progress };
    Atomics.store(env.words, threadIndex(task.slot), DONE);
    if (ctx.cancelled) {
      outcomes[i] = { ...base, kind: 'cancelled' };
      continue;
    }
    if (thrown !== undefined) {
      outcomes[i] = { ...base, kind: 'failed', error: describeError(thrown.error) };
      continue;
    }
    const value = (results as unknown[])[k];
    if (value instanceof Error) {
      outcomes[i] = { ...base, kind: 'failed', error: describeError(value) };
      continue;
    }
    outcomes[i] = resultOutcome(base, value, maxResultBytes);
  }
  return outcomes;
}

/** One context for the call: its progress goes to every task, its signal aborts once all are cancelled. */
function batchContext(tasks: TaskRequest[], contexts: WorkerTaskContext[], env: ContextEnvironment): BatchContext {
  let controller: AbortController | undefined;
  return {
    ids: tasks.map((task) => task.id),
    attempts: tasks.map((task) => task.attempt),
    get signal(): AbortSignal {
      if (controller === undefined) {
        controller = new AbortController();
        let left = contexts.length;
        for (const ctx of contexts) {
          ctx.signal.addEventListener(
            'abort',
            () => {
              if (--left === 0) controller!.abort(ctx.signal.reason);
            },
            { once: true },
          );
        }
      }
      return controller.signal;
    },
    // Each handler types `ctx.host` itself (HostServices, or its own BatchContext<Services>).
    get host(): BatchContext['host'] {
      return env.host() as BatchContext['host'];
    },
    progress(percent: number, message?: string): void {
      for (const ctx of contexts) ctx.progress(percent, message);
    },
  };
}
