/**
 * The dispatcher with a fake pool: calls are recorded instead of run, and the test plays the
 * worker (claims a task's control slot, answers the call, or lets the thread die). The state
 * owner and the store are real (in memory), so what the dispatcher reports is judged by the
 * same rules as in a runtime.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PLAIN_RELATIONS } from '../../src/options/submit-options.js';
import { BatchPlanner } from '../../src/scheduler/batch-planner.js';
import { Dispatcher, type ThreadPool } from '../../src/scheduler/dispatcher.js';
import type { LiveTask } from '../../src/scheduler/live-task.js';
import { TaskStateMachine } from '../../src/scheduler/task-states.js';
import { DispatchLimits } from '../../src/scheduler/dispatch-limits.js';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import { WriteBatcher } from '../../src/store/write-batcher.js';
import { StoredEvents } from '../../src/streams/stored-events.js';
import { EventBus } from '../../src/streams/event-bus.js';
import { MetricsRecorder } from '../../src/streams/metrics.js';
import type { TaskEvent } from '../../src/types.js';
import { ControlSlots, threadIndex } from '../../src/workers/control.js';
import type { TaskOutcome, TaskRequest } from '../../src/workers/protocol.js';

interface PendingCall {
  requests: TaskRequest[];
  answer(outcomes: TaskOutcome[]): void;
  die(error: Error): void;
}

/** A pool whose calls wait for the test. */
class FakePool implements ThreadPool {
  readyThreads: number;
  readonly calls: PendingCall[] = [];
  readonly terminated: number[] = [];
  #terminatedOne: (() => void) | undefined;
  /** Resolves when the dispatcher terminates a thread. */
  readonly termination = new Promise<void>((resolve) => (this.#terminatedOne = resolve));

  constructor(threads: number) {
    this.readyThreads = threads;
  }

  runBatch(requests: TaskRequest[]): Promise<TaskOutcome[]> {
    return new Promise((answer, die) => this.calls.push({ requests, answer, die }));
  }

  terminateThread(threadId: number): boolean {
    this.terminated.push(threadId);
    this.#terminatedOne?.();
    return true;
  }
}

const stores: SqliteTaskStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function setUp(threads = 2, cancelGraceMs = 1000) {
  const store = SqliteTaskStore.open(':memory:');
  stores.push(store);
  const bus = new EventBus();
  const events: TaskEvent[] = [];
  bus.events$.subscribe((event) => events.push(event));
  const writer = new WriteBatcher(store);
  const stored = new StoredEvents(bus, writer);
  const tasks = new TaskStateMachine({
    writer,
    events: stored,
    metrics: new MetricsRecorder(),
    progressIntervalMs: 0,
    agingMs: null,
    retention: { notifyFinished: () => {} },
  });
  const pool = new FakePool(threads);
  const controls = new ControlSlots(64);
  const dispatcher = new Dispatcher({
    source: tasks,
    pool,
    controls,
    planner: new BatchPlanner({ budgetMs: 2, maxBatch: 64 }),
    limits: new DispatchLimits({ types: new Map(), groups: {}, release: () => {}, runningOf: () => [] }),
    concurrency: threads,
    cancelGraceMs,
    resourceLimits: undefined,
    events: stored,
  });
  tasks.bindRunner(dispatcher);
  const add = (type = 'work'): LiveTask =>
    tasks.add(
      {
        type,
        payload: { n: 1 },
        encodedPayload: undefined,
        name: null,
        description: null,
        priority: 'normal',
        limits: { timeoutMs: null, retries: 0, backoff: null },
        relations: PLAIN_RELATIONS,
        runAt: null,
        parents: [],
      },
      Date.now(),
    );
  /** What a worker does as it begins a task: its thread id in the slot's thread word. */
  const claim = (request: TaskRequest, threadId: number): void => {
    Atomics.store(new Int32Array(controls.buffer), threadIndex(request.slot), threadId);
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { tasks, pool, dispatcher, events, store, writer, add, claim, settle };
}

function completed(request: TaskRequest, result: Uint8Array | null = null): TaskOutcome {
  const now = Date.now();
  return { kind: 'completed', id: request.id, result, startedAt: now, endedAt: now, runMs: 0.01, posted: 0 };
}

describe('Dispatcher (fake pool)', () => {
  it('sends one lone task per free thread, counted as started, and the rest wait', async () => {
    const { pool, add, settle, events } = setUp(2);
    const [a, b, c] = [add(), add(), add()];
    await settle();
    expect(pool.calls.map((call) => call.requests.map((r) => r.id))).toEqual([[a.id], [b.id]]);
    expect([a.status, b.status, c.status]).toEqual(['running', 'running', 'queued']);
    expect(events.filter((event) => event.type === 'started').map((event) => event.taskId)).toEqual([a.id, b.id]);
  });

  it('reports an answer to the state owner and gives the freed thread the next task', async () => {
    const { pool, add, settle, events, writer } = setUp(1);
    const a = add();
    const b = add();
    await settle();
    pool.calls[0]!.answer([completed(pool.calls[0]!.requests[0]!)]);
    await settle();
    expect(a.ending?.status).toBe('completed');
    expect(pool.calls).toHaveLength(2);
    expect(pool.calls[1]!.requests.map((r) => r.id)).toEqual([b.id]);
    await writer.flush();
    expect(events.map((event) => [event.type, event.taskId])).toContainEqual(['completed', a.id]);
  });

  it('sends no call while no thread is ready, and sends when woken after one is', async () => {
    const { pool, add, settle, dispatcher } = setUp(1);
    pool.readyThreads = 0;
    const a = add();
    await settle();
    expect(pool.calls).toHaveLength(0);
    expect(a.status).toBe('queued');
    pool.readyThreads = 1;
    dispatcher.wake();
    await settle();
    expect(pool.calls.map((call) => call.requests[0]!.id)).toEqual([a.id]);
  });

  it('sends short tasks in batches once their type is known to be short', async () => {
    const { pool, add, settle } = setUp(1);
    add();
    await settle();
    const first = pool.calls[0]!;
    for (let i = 0; i < 10; i++) add();
    first.answer([completed(first.requests[0]!)]);
    await settle();
    // The first run took 0.01 ms: the next call carries every waiting task.
    expect(pool.calls[1]!.requests).toHaveLength(10);
  });

  it('fails a started task whose thread died, and queues again one the thread never began', async () => {
    const { pool, add, settle, claim } = setUp(1);
    const first = add();
    await settle();
    pool.calls[0]!.answer([completed(pool.calls[0]!.requests[0]!)]);
    await settle();
    expect(first.ending?.status).toBe('completed');
    const [a, b] = [add(), add()];
    await settle();
    const batch = pool.calls[1]!;
    expect(batch.requests.map((r) => r.id)).toEqual([a.id, b.id]);
    claim(batch.requests[0]!, 7); // the worker began the first, then died
    batch.die(new Error('thread exited'));
    await settle();
    expect(a.ending).toMatchObject({ status: 'failed', error: { code: 'ERR_WORKER_CRASHED' } });
    // b never ran: it is sent again, alone, as its first attempt.
    expect(b.ending).toBeUndefined();
    expect(pool.calls[2]!.requests.map((r) => r.id)).toEqual([b.id]);
    expect([b.status, b.attempts]).toEqual(['running', 1]);
  });

  it('takes back a task sent in a batch that its thread has not begun, when it is paused', async () => {
    const { pool, add, settle, tasks } = setUp(1);
    add();
    await settle();
    pool.calls[0]!.answer([completed(pool.calls[0]!.requests[0]!)]);
    await settle();
    const [a, b] = [add(), add()];
    await settle();
    expect(b.status).toBe('queued'); // sent, not known to have begun
    await tasks.pause(b);
    expect(b.status).toBe('paused');
    // The worker skips it: its outcome says it never started, and is ignored.
    const batch = pool.calls[1]!;
    batch.answer([completed(batch.requests[0]!), { ...completed(batch.requests[1]!), startedAt: null, kind: 'cancelled' }]);
    await settle();
    expect(a.ending?.status).toBe('completed');
    expect(b.status).toBe('paused');
  });

  it('asks the thread of a cancelled running task to stop, and terminates it when the grace is over', async () => {
    const { pool, add, settle, tasks, claim } = setUp(1, 0);
    const a = add();
    await settle();
    const request = pool.calls[0]!.requests[0]!;
    claim(request, 9);
    const cancelled = tasks.cancel(a);
    expect(a.cancelRequested).toBe(true);
    expect(a.status).toBe('running'); // until its thread has stopped
    await pool.termination;
    expect(pool.terminated).toEqual([9]);
    pool.calls[0]!.die(new Error('terminated'));
    await cancelled;
    expect(a.ending?.status).toBe('cancelled');
  });
});
