/**
 * Every message between the host and a worker thread is declared here, and nowhere else.
 *
 * Two paths, chosen by what was measured (docs/design.md):
 * - Requests and their answers ride Piscina's own call (`pool.run`): one call carries a
 *   *batch* of tasks, so Piscina's per-call cost is shared by several short tasks.
 * - Everything a task says while it runs (progress, pause acknowledgements, the comlink
 *   port for host services) goes over the worker's long-lived `parentPort`, tagged with
 *   the task id; Piscina re-emits those as the pool's 'message' event. No per-task channel.
 * Host -> worker signals (pause, resume, cancel) do not travel as messages at all: they are
 * written to a shared control word (src/workers/control.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import type { TaskError } from '../types.js';
import type { TaskTypeOptions } from '../types.js';

/** A task as handed to a worker. */
export interface TaskRequest {
  id: string;
  type: string;
  payload: unknown;
  /** 1 on the first run. */
  attempt: number;
  /** Index of the task's control word in the shared control buffer. */
  slot: number;
  /** Results of its completed parents (dependsOn), by id. */
  dependencies?: Record<string, unknown>;
  /** Errors of its parents that failed or were cancelled (onParentFailure 'run'). */
  failedDependencies?: Record<string, TaskError>;
  /** The durable checkpoint its last run saved (v8 bytes). */
  checkpoint?: Uint8Array;
  /** Sent ahead, queued behind another call on its thread: say when it starts. */
  announce?: true;
  /**
   * The W3C traceparent of the run's span on the host, while tracing: the handler runs with
   * it as its active span context (src/telemetry/handler-trace.ts).
   */
  traceparent?: string;
}

/** The handlers module is the thread's own (WorkerBootData.handlers): calls do not carry it. */
export type WorkerRequest = { kind: 'describe' } | { kind: 'batch'; tasks: TaskRequest[] };

/** Answer to `describe`: the task types (defineTask exports) of the handlers module. */
export interface DescribeResponse {
  types: string[];
  /** Each type's defineTask options. */
  options: Record<string, TaskTypeOptions>;
  /** The types made with defineBatchTask: how many tasks a call takes, how long it waits to fill. */
  batches: Record<string, { maxBatch: number; maxWaitMs: number }>;
}

/**
 * How one task of a batch ended in the worker.
 * - `completed`: `result` is the v8-serialized return value (serialized in the worker, so a
 *   result that cannot be cloned fails that task alone and never the batch), or null for a
 *   handler that returned nothing (most do: no bytes made, sent or stored).
 * - `failed`: the handler threw, or its result could not be cloned or is over maxPayloadBytes.
 * - `cancelled`: its control word said cancel, before or while it ran.
 * - `held`: its control word said pause before it started; it never ran.
 */
export type TaskOutcome =
  | (OutcomeBase & { kind: 'completed'; result: Uint8Array | null })
  | (OutcomeBase & { kind: 'failed'; error: TaskError })
  | (OutcomeBase & { kind: 'cancelled' })
  | (OutcomeBase & { kind: 'held' });

interface OutcomeBase {
  id: string;
  /** Epoch ms the handler was called, or null if it never was. */
  startedAt: number | null;
  endedAt: number;
  /** How long the handler ran, in ms (performance.now, finer than the epoch times). */
  runMs: number;
  /**
   * How many messages (progress, paused, resumed, checkpoint) the task posted on parentPort. They travel
   * on another port than the outcome and may arrive after it; the host finishes the task
   * only once it has them all, so the last progress is never lost or reordered.
   */
  posted: number;
  /** The last progress the handler reported that was not yet sent as a message. */
  progress?: ProgressReport;
}

export interface ProgressReport {
  progress: number;
  message: string | null;
}

/** Marks our messages on parentPort apart from anything else a handler might post. */
export const MESSAGE_MARKER = '__offthread';

export type WorkerEvent =
  | { [MESSAGE_MARKER]: 1; type: 'started'; id: string; at: number }
  | { [MESSAGE_MARKER]: 1; type: 'progress'; id: string; progress: number; message: string | null }
  | { [MESSAGE_MARKER]: 1; type: 'paused'; id: string; at: number }
  | { [MESSAGE_MARKER]: 1; type: 'resumed'; id: string; at: number }
  | { [MESSAGE_MARKER]: 1; type: 'checkpoint'; id: string; state: Uint8Array }
  /** A value the handler emitted (`ctx.emit`), structured-cloned by the port. */
  | { [MESSAGE_MARKER]: 1; type: 'output'; id: string; value: unknown }
  /**
   * The handler began reading `ctx.messages`: the port the host sends the task's messages
   * on (`rt.send`), made for this run only, closed when it ends.
   */
  | { [MESSAGE_MARKER]: 1; type: 'inbox'; id: string; port: MessagePort }
  /**
   * A task of a call with others ended while a later one of the call still runs: its outcome,
   * told now rather than with the call's (see worker-entry.ts, EarlyOutcomes).
   */
  | { [MESSAGE_MARKER]: 1; type: 'ended'; id: string; slot: number; outcome: TaskOutcome }
  | { [MESSAGE_MARKER]: 1; type: 'host-port'; port: MessagePort };

export function isWorkerEvent(message: unknown): message is WorkerEvent {
  return typeof message === 'object' && message !== null && MESSAGE_MARKER in message;
}

/** What every worker thread is given at start (Piscina's workerData). */
export interface WorkerBootData {
  /**
   * The handlers module, imported as the thread starts: Piscina counts a thread ready (and
   * sends it calls) only once it has been (see piscina-entry.cts).
   */
  handlers: string;
  control: SharedArrayBuffer;
  progressIntervalMs: number;
  /** Retire the thread after this many tasks (a handler that leaks), or null. */
  maxTasksPerThread: number | null;
  /** The runtime's maxPayloadBytes: a larger result fails its task (a type's own limit wins). */
  maxPayloadBytes: number;
}
