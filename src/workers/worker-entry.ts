/**
 * The module Piscina loads in every worker thread. It imports the handlers module once per
 * thread, then runs the batches the host sends, one task after another, each checked
 * against its control word before it starts.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { runInSpanContext, traceApiLoading } from '../telemetry/handler-trace.js';
import { isTaskDefinition, type TaskHandler, type TaskTypeOptions } from '../worker.js';
import { CANCEL, DONE, PAUSE, stateIndex, threadIndex } from './control.js';
import type {
  DescribeResponse,
  TaskOutcome,
  TaskRequest,
  WorkerBootData,
  WorkerEvent,
  WorkerRequest,
} from './protocol.js';
import { EarlyOutcomes } from './early-outcomes.js';
import { runBatchCall } from './batch-call.js';
import { describeError, resultOutcome } from './run-outcome.js';
import { batchOf, type BatchDefinition } from './batch-definition.js';
import { WorkerTaskContext, type ContextEnvironment } from './task-context.js';

const boot = workerData as WorkerBootData;
const port = parentPort!;
interface LoadedHandlers {
  handlers: Map<string, TaskHandler>;
  options: Record<string, TaskTypeOptions>;
  /** Batch handlers (defineBatchTask) by type. */
  batches: Map<string, BatchDefinition>;
}

/** The handlers module (workerData's), loaded once per thread. */
let handlersModule: Promise<LoadedHandlers> | undefined;
let hostRemote: Comlink.Remote<any> | undefined;

const env: ContextEnvironment = {
  words: new Int32Array(boot.control),
  progressIntervalMs: boot.progressIntervalMs,
  post: (event: WorkerEvent, transfer?: MessagePort[]) => port.postMessage(event, transfer),
  beforeSleep: () => early?.tell(),
  host() {
    // One comlink channel per thread, made on first use; the host exposes its services on it.
    if (hostRemote === undefined) {
      const { port1, port2 } = new MessageChannel();
      port.postMessage({ __offthread: 1, type: 'host-port', port: port2 } satisfies WorkerEvent, [port2]);
      hostRemote = Comlink.wrap(nodeEndpoint(port1 as any));
    }
    return hostRemote;
  },
};

function loadHandlers(): Promise<LoadedHandlers> {
  handlersModule ??= import(boot.handlers).then((module: Record<string, unknown>) => {
    const handlers = new Map<string, TaskHandler>();
    const options: Record<string, TaskTypeOptions> = {};
    const batches = new Map<string, BatchDefinition>();
    for (const [name, value] of Object.entries(module)) {
      if (!isTaskDefinition(value)) continue;
      handlers.set(name, value.handler);
      options[name] = value.options;
      const batch = batchOf(value);
      if (batch !== undefined) batches.set(name, batch);
    }
    return { handlers, options, batches };
  });
  return handlersModule;
}

/**
 * Settles once the handlers module is loaded, or failed to load: then the first call
 * imports it again and reports the error (describe() at open turns it into
 * HandlersLoadError), as before the thread was preloaded.
 */
export const ready: Promise<void> = loadHandlers().then(
  () => undefined,
  () => {
    handlersModule = undefined;
  },
);

/**
 * Thread recycling (maxTasksPerThread, for handlers that leak). A thread over its budget
 * retires at its next call, before starting anything: it exits, the host sees the call fail
 * with no task started and queues them again, and Piscina starts a fresh thread. Exiting
 * earlier is not possible: between calls Piscina holds the thread in Atomics.wait.
 */
let tasksRun = 0;
const tasksRunByType = new Map<string, number>();
let retiring = false;

function countRun(type: string, options: Record<string, TaskTypeOptions>): void {
  tasksRun++;
  const byType = (tasksRunByType.get(type) ?? 0) + 1;
  tasksRunByType.set(type, byType);
  const typeMax = options[type]?.maxTasksPerThread;
  if ((boot.maxTasksPerThread !== null && tasksRun >= boot.maxTasksPerThread) || (typeMax !== undefined && byType >= typeMax)) {
    retiring = true;
  }
}

/**
 * Piscina hands a thread a second call while the first still runs (concurrentTasksPerWorker
 * 2: the host sends a thread's next call ahead, so it does not wait for a round trip between
 * tasks). Calls still run one after the other: each waits for the one before it.
 */
let previousCall: Promise<unknown> = Promise.resolve();
/** The ends of the call under way not told yet (calls run one at a time, see above). */
let early: EarlyOutcomes | undefined;

export default function run(request: WorkerRequest): Promise<DescribeResponse | TaskOutcome[]> {
  const call = previousCall.then(() => runCall(request));
  previousCall = call.catch(() => undefined);
  return call;
}

async function runCall(request: WorkerRequest): Promise<DescribeResponse | TaskOutcome[]> {
  if (retiring) process.exit(0);
  const { handlers, options, batches } = await loadHandlers();
  if (request.kind === 'describe') {
    const described: DescribeResponse['batches'] = {};
    for (const [type, { maxBatch, maxWaitMs }] of batches) described[type] = { maxBatch, maxWaitMs };
    return { types: [...handlers.keys()], options, batches: described };
  }
  // A call of a batch type holds only tasks of that type (the host's BatchCollectors).
  const batch = request.tasks.length > 0 ? batches.get(request.tasks[0]!.type) : undefined;
  if (batch !== undefined) {
    const type = request.tasks[0]!.type;
    const outcomes = await runBatchCall(request.tasks, batch, env, options[type]?.maxPayloadBytes ?? boot.maxPayloadBytes);
    for (const outcome of outcomes) if (outcome.startedAt !== null) countRun(type, options);
    return outcomes;
  }
  const outcomes: TaskOutcome[] = new Array(request.tasks.length);
  const last = request.tasks.length - 1;
  early = last > 0 ? new EarlyOutcomes(env.post, request.tasks, outcomes) : undefined;
  try {
    for (let i = 0; i <= last; i++) {
      const task = request.tasks[i]!;
      if (i > 0) early!.next();
      outcomes[i] = await runTask(handlers, task, options[task.type]?.maxPayloadBytes ?? boot.maxPayloadBytes);
      if (i < last) early!.ended();
      if (outcomes[i]!.startedAt === null) continue;
      countRun(task.type, options);
      // Done: if this thread dies later in the batch, the host must not take this task for
      // the one that was running (its outcome is lost with the batch; it will run again).
      Atomics.store(env.words, threadIndex(task.slot), DONE);
    }
  } finally {
    early?.done();
    early = undefined;
  }
  return outcomes;
}

/** `maxResultBytes`: a result larger encoded fails its task (maxPayloadBytes). */
async function runTask(handlers: Map<string, TaskHandler>, task: TaskRequest, maxResultBytes: number): Promise<TaskOutcome> {
  const state = Atomics.load(env.words, stateIndex(task.slot));
  if (state === CANCEL) return { id: task.id, kind: 'cancelled', startedAt: null, endedAt: Date.now(), runMs: 0, posted: 0 };
  if (state === PAUSE) return { id: task.id, kind: 'held', startedAt: null, endedAt: Date.now(), runMs: 0, posted: 0 };

  // Claimed with a compare-and-swap: the host may have taken the task back meanwhile (a
  // higher-priority task arrived), and then it is not ours to run.
  if (Atomics.compareExchange(env.words, threadIndex(task.slot), 0, threadId) !== 0) {
    return { id: task.id, kind: 'cancelled', startedAt: null, endedAt: Date.now(), runMs: 0, posted: 0 };
  }
  const handler = handlers.get(task.type);
  const startedAt = Date.now();
  if (handler === undefined) {
    const error = { code: 'ERR_UNKNOWN_TASK_TYPE', message: `The handlers module no longer exports "${task.type}".` };
    return { id: task.id, kind: 'failed', error, startedAt, endedAt: Date.now(), runMs: 0, posted: 0 };
  }
  if (task.traceparent !== undefined) {
    // The thread's first traced task loads @opentelemetry/api, outside its run time.
    const loading = traceApiLoading();
    if (loading !== undefined) await loading;
  }
  const clock = performance.now();
  const ctx = new WorkerTaskContext(task, env);
  if (task.announce) ctx.announceStart(startedAt);
  try {
    // Traced: the handler's own spans are children of its run's span on the host.
    const value = await (task.traceparent === undefined ? handler(task.payload, ctx) : runInSpanContext(task.traceparent, () => handler(task.payload, ctx)));
    const runMs = performance.now() - clock;
    const progress = ctx.finish();
    return resultOutcome({ id: task.id, startedAt, endedAt: Date.now(), runMs, posted: ctx.posted, progress }, value, maxResultBytes);
  } catch (thrown) {
    const runMs = performance.now() - clock;
    const progress = ctx.finish();
    const endedAt = Date.now();
    if (ctx.cancelled) return { id: task.id, kind: 'cancelled', startedAt, endedAt, runMs, posted: ctx.posted, progress };
    return { id: task.id, kind: 'failed', error: describeError(thrown), startedAt, endedAt, runMs, posted: ctx.posted, progress };
  }
}
