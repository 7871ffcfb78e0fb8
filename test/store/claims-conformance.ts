import { describe, expect, it, afterEach } from 'vitest';
import { EncodedValue } from '../../src/store/encoded.js';
import type { ControlRequest, QueueFeed, StoreSharing } from '../../src/store/task-claims.js';
import type { TaskStore, WriteBatch } from '../../src/store/task-store.js';
import type { TaskEvent } from '../../src/types.js';
import { batch, record, unfinishedOf } from './conformance.js';

/**
 * A QueueFeed that keeps what it is told; `until` resolves once what it kept meets a
 * condition (checked at once and after each call), so a test waits on what it expects.
 */
export class FeedRecorder implements QueueFeed {
  /** The events told, in order. */
  readonly told: TaskEvent[] = [];
  /** The commands told, in order. */
  readonly commands: { id: string; request: ControlRequest }[] = [];
  readies = 0;
  resyncs = 0;
  /** Which calls came, in order: 'ready', 'events', 'control', 'resync'. */
  readonly calls: (keyof QueueFeed)[] = [];
  readonly #waiting: { met: () => boolean; resolve: () => void }[] = [];

  ready(): void {
    this.calls.push('ready');
    this.readies++;
    this.#check();
  }

  events(events: TaskEvent[]): void {
    this.calls.push('events');
    this.told.push(...events);
    this.#check();
  }

  control(id: string, request: ControlRequest): void {
    this.calls.push('control');
    this.commands.push({ id, request });
    this.#check();
  }

  resync(): void {
    this.calls.push('resync');
    this.resyncs++;
    this.#check();
  }

  until(met: (feed: this) => boolean): Promise<void> {
    if (met(this)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ met: () => met(this), resolve }));
  }

  /** Until an event of `taskId` arrives (a marker another host sent last: what came before it has come). */
  eventOf(taskId: string): Promise<void> {
    return this.until((feed) => feed.told.some((event) => event.taskId === taskId));
  }

  #check(): void {
    for (const waiter of [...this.#waiting]) {
      if (!waiter.met()) continue;
      this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

/** A batch of events alone. */
export function eventsBatch(events: TaskEvent[], base: WriteBatch = batch([])): WriteBatch {
  return { ...base, events: [...base.events, ...events] };
}

/*
 * The claims seam (src/store/task-claims.ts) every TaskStore meets, by its kind of sharing.
 * `open` returns an empty, open store; the suite closes what it opens.
 */
/**
 * `openPeer` (shared stores) opens another host's store on the same queue as `store`.
 */
export function describeTaskClaimsConformance(
  name: string,
  sharing: StoreSharing,
  open: () => Promise<TaskStore> | TaskStore,
  openPeer?: (store: TaskStore) => Promise<TaskStore>,
): void {
  describe(`TaskClaims conformance: ${name}`, () => {
    const opened: TaskStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    const fresh = async (): Promise<TaskStore> => {
      const store = await open();
      opened.push(store);
      return store;
    };

    it('answers a command for an unknown task with unknown, and for a finished one with its status', async () => {
      const store = await fresh();
      await store.commit(batch([record(1)], { t1: { status: 'completed', completedAt: 2000, updatedAt: 2000 } }));
      expect(await store.control('missing', { action: 'cancel' })).toEqual({ kind: 'unknown' });
      expect(await store.control('t1', { action: 'pause' })).toEqual({ kind: 'unchanged', status: 'completed' });
      expect(await store.control('t1', { action: 'setPriority', priority: 'high' })).toEqual({ kind: 'unchanged', status: 'completed' });
    });

    it(`says it is ${sharing}`, async () => {
      expect((await fresh()).sharing).toBe(sharing);
    });

    if (sharing === 'shared') {
      describeSharedClaims(fresh, async (store) => {
        const peer = await openPeer!(store);
        opened.push(peer);
        return peer;
      });
      return;
    }

    it('an exclusive store hands every unfinished task over at recovery, and has none to claim', async () => {
      const store = await fresh();
      await store.commit(batch([record(1), record(2)]));
      const recovered = await store.recover(5000);
      expect(unfinishedOf(recovered).map((task) => task.id)).toEqual(['t1', 't2']);
      expect(await store.claim({ types: ['work'], limit: 10, leaseUntil: 10_000, now: 5000 })).toEqual([]);
      // Renewing and releasing what it holds change nothing: the owner lock is its lease.
      expect(await store.renew(['t1'], 20_000)).toEqual(['t1']);
      await store.release(['t2']);
      expect(unfinishedOf(await store.recover(6000)).map((task) => task.id)).toEqual(['t1', 't2']);
      expect(await store.reclaimLapsed(50_000)).toBe(0);
      expect(await store.nextDue(['work'], 5000)).toBeNull();
      let told = 0;
      const stop = await store.listen({ ready: () => told++, events: () => told++, control: () => told++, resync: () => told++ });
      await store.commit(batch([record(3)]));
      stop();
      expect(told).toBe(0);
    });
  });
}

const ids = (tasks: readonly { id: string }[]): string[] => tasks.map((task) => task.id);

function describeSharedClaims(fresh: () => Promise<TaskStore>, peerOf: (store: TaskStore) => Promise<TaskStore>): void {
  const claimOf = (store: TaskStore, limit: number, now = 5000, leaseUntil = 10_000, types = ['work']) =>
    store.claim({ types, limit, leaseUntil, now });

  it('claims ready tasks of its types, most urgent first, then in submit order, up to the limit', async () => {
    const store = await fresh();
    await store.commit(
      batch(
        [
          record(1, { priority: 'low' }),
          record(2, { priority: 'high' }),
          record(3),
          record(4, { priority: 'high' }),
          record(5, { type: 'other' }), // a type this host does not run
          record(6, { runAt: 9000 }), // not due yet
          record(7), // paused below
          record(8, { dependsOn: ['t1'] }), // its parent is not finished
          record(9),
        ],
        { t7: { status: 'paused', updatedAt: 1 } },
      ),
    );
    const first = await claimOf(store, 3);
    expect(ids(first).sort()).toEqual(['t2', 't3', 't4']);
    expect(first.find((task) => task.id === 't2')).toMatchObject({ status: 'queued', priority: 'high', payload: { n: 2 } });
    expect(ids(await claimOf(store, 10)).sort()).toEqual(['t1', 't9']);
    expect(await claimOf(store, 10)).toEqual([]);
    // The parent finishes: its child is ready. The delayed one comes due.
    await store.commit(batch([], { t1: { status: 'completed', completedAt: 6000, updatedAt: 6000 } }));
    expect(ids(await claimOf(store, 10, 9000)).sort()).toEqual(['t6', 't8']);
  });

  it('two hosts claiming at once never take the same task', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    await a.commit(batch(Array.from({ length: 40 }, (_, i) => record(i + 1))));
    const [fromA, fromB] = await Promise.all([claimOf(a, 25), claimOf(b, 25)]);
    const all = [...ids(fromA), ...ids(fromB)];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(40);
  });

  it('a lapsed lease is taken back at recovery: the task keeps its attempt and checkpoint, and another host claims it', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    await a.commit(batch([record(1)]));
    expect(ids(await claimOf(a, 1, 5000, 10_000))).toEqual(['t1']);
    await a.commit(batch([], { t1: { status: 'running', attempts: 1, startedAt: 5000, checkpoint: new EncodedValue(Uint8Array.of(7)), updatedAt: 5000 } }));
    expect(await claimOf(b, 1, 9000)).toEqual([]); // held, lease valid
    await b.recover(10_001);
    const [again] = await claimOf(b, 1, 10_001, 40_000);
    expect(again).toMatchObject({ id: 't1', status: 'queued', attempts: 1 });
    expect([...again!.checkpoint!]).toEqual([7]);
  });

  it('a renewed lease is not taken back; a released task is claimed by another host', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    await a.commit(batch([record(1), record(2)]));
    expect(ids(await claimOf(a, 2, 5000, 10_000)).sort()).toEqual(['t1', 't2']);
    await a.renew(['t1', 't2'], 50_000);
    await b.recover(20_000);
    expect(await claimOf(b, 2, 20_000)).toEqual([]);
    await a.release(['t2']);
    expect(ids(await claimOf(b, 2, 20_000))).toEqual(['t2']);
  });

  it('a released task that was running (a close that did not wait) is queued again at once, its attempt kept', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    await a.commit(batch([record(1)]));
    expect(ids(await claimOf(a, 1))).toEqual(['t1']);
    await a.commit(batch([], { t1: { status: 'running', attempts: 1, startedAt: 5000, updatedAt: 5000 } }));
    await a.release(['t1']);
    const [again] = await claimOf(b, 1, 6000);
    expect(again).toMatchObject({ id: 't1', status: 'queued', attempts: 1 });
  });

  it('wakes a listening host when another commits new tasks', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const stop = await b.listen({ ready: () => wake(), events: () => {}, control: () => {}, resync: () => {} });
    await a.commit(batch([record(1)]));
    await woken;
    stop();
    expect(ids(await claimOf(b, 1))).toEqual(['t1']);
  });

  const listening = async (store: TaskStore): Promise<FeedRecorder> => {
    const feed = new FeedRecorder();
    await store.listen(feed);
    return feed;
  };

  it('wakes listening hosts when a task goes back to the queue, or ends while a child waits for parents; not when it pauses', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    const fromB = await listening(b);
    await a.commit(batch([record(1), record(2), record(3, { dependsOn: ['t2'] })]));
    await fromB.until((feed) => feed.readies === 1);
    await a.commit(batch([], { t1: { status: 'paused', updatedAt: 2000 } }));
    // A marker told after the pause: once it is here, so is anything the pause sent.
    await a.commit(eventsBatch([{ type: 'paused', taskId: 'marker', taskType: 'work', at: 2000 }]));
    await fromB.eventOf('marker');
    expect(fromB.readies).toBe(1);
    await a.commit(batch([], { t1: { status: 'queued', updatedAt: 2100 } }));
    await fromB.until((feed) => feed.readies === 2);
    await a.commit(batch([], { t2: { status: 'completed', completedAt: 2200, updatedAt: 2200 } }));
    await fromB.until((feed) => feed.readies === 3);
  });

  it('tells the other hosts the events of a commit, in order, with results and errors of any size; never the host that sent them', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    const [fromA, fromB] = [await listening(a), await listening(b)];
    await a.commit(batch([record(1), record(2), record(3), record(4)]));
    // Large enough that no notification could carry them: the rows committed with them do.
    const largeResult = { text: 'x'.repeat(20_000), when: new Date(5), tags: new Set(['a']) };
    const largeError = { code: 'E_LONG', message: `long: ${'y'.repeat(20_000)}` };
    const largeMessage = `step ${'z'.repeat(9000)}`;
    const events: TaskEvent[] = [
      { type: 'created', taskId: 't1', at: 1, taskType: 'work', priority: 'high' },
      { type: 'started', taskId: 't1', taskType: 'work', at: 2, attempt: 1 },
      { type: 'progress', taskId: 't1', taskType: 'work', at: 3, progress: 50, message: 'half way' },
      { type: 'progress', taskId: 't1', taskType: 'work', at: 4, progress: 60, message: null },
      { type: 'paused', taskId: 't1', taskType: 'work', at: 5 },
      { type: 'resumed', taskId: 't1', taskType: 'work', at: 6 },
      { type: 'retrying', taskId: 't1', taskType: 'work', at: 7, attempt: 1, error: { code: 'E_ONCE', message: 'first try' }, delayMs: 250 },
      // Many small ones: more than one notification's worth, still in order.
      ...Array.from({ length: 300 }, (_, i): TaskEvent => ({ type: 'progress', taskId: 't1', taskType: 'work', at: 10 + i, progress: i / 3, message: `item ${i} of 300` })),
      { type: 'completed', taskId: 't1', taskType: 'work', at: 400, result: new Map<string, unknown>([['k', [1, 2n]]]) },
      { type: 'completed', taskId: 't2', taskType: 'work', at: 401, result: largeResult },
      { type: 'failed', taskId: 't3', taskType: 'work', at: 402, error: largeError },
      { type: 'progress', taskId: 't4', taskType: 'work', at: 403, progress: 10, message: largeMessage },
      { type: 'cancelled', taskId: 't4', taskType: 'work', at: 404, error: { code: 'ERR_TASK_CANCELLED', message: 'The task was cancelled.' } },
      { type: 'completed', taskId: 'gone', taskType: 'work', at: 405, result: undefined },
      { type: 'completed', taskId: 'gone', taskType: 'work', at: 406, result: null },
    ];
    await a.commit(
      eventsBatch(
        events,
        batch([], {
          t1: { status: 'completed', result: new Map([['k', [1, 2n]]]), completedAt: 400, updatedAt: 400 },
          t2: { status: 'completed', result: largeResult, completedAt: 401, updatedAt: 401 },
          t3: { status: 'failed', error: largeError, completedAt: 402, updatedAt: 402 },
          t4: { status: 'cancelled', progress: 10, progressMessage: largeMessage, completedAt: 404, updatedAt: 404 },
        }),
      ),
    );
    await fromB.until((feed) => feed.told.length >= events.length);
    expect(fromB.told).toStrictEqual(events);
    // A commit of events alone is told too; once b's marker reaches a, a has seen everything a sent before it.
    const marker: TaskEvent = { type: 'started', taskId: 'marker', taskType: 'work', at: 500, attempt: 1 };
    await b.commit(eventsBatch([marker]));
    await fromA.eventOf('marker');
    expect(fromA.told).toStrictEqual([marker]);
  });

  it('a command for a task no host holds is applied to its row, and its events told to the other hosts', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    const fromB = await listening(b);
    await a.commit(batch([record(1), record(2), record(3, { dependsOn: ['t2'] })]));

    const paused = await a.control('t1', { action: 'pause' });
    expect(paused).toEqual({ kind: 'applied', events: [{ type: 'paused', taskId: 't1', taskType: 'work', at: expect.any(Number) }] });
    expect(await a.get('t1')).toMatchObject({ status: 'paused' });
    expect(await a.control('t1', { action: 'pause' })).toEqual({ kind: 'unchanged', status: 'paused' });
    expect(await a.control('t1', { action: 'setPriority', priority: 'high' })).toEqual({ kind: 'applied', events: [] });
    expect(await a.get('t1')).toMatchObject({ status: 'paused', priority: 'high' });
    expect(ids(await claimOf(b, 10))).toEqual(['t2']); // paused: not claimed
    await b.release(['t2']);

    const resumed = await a.control('t1', { action: 'resume' });
    expect(resumed).toEqual({ kind: 'applied', events: [{ type: 'resumed', taskId: 't1', taskType: 'work', at: expect.any(Number) }] });
    expect(await a.control('t1', { action: 'resume' })).toEqual({ kind: 'unchanged', status: 'queued' });

    const cancelled = await a.control('t2', { action: 'cancel' });
    const error = { code: 'ERR_TASK_CANCELLED', message: 'The task was cancelled.' };
    expect(cancelled).toEqual({ kind: 'applied', events: [{ type: 'cancelled', taskId: 't2', taskType: 'work', at: expect.any(Number), error }] });
    const at = (cancelled as { events: TaskEvent[] }).events[0]!.at;
    expect(await a.get('t2')).toMatchObject({ status: 'cancelled', error, completedAt: at, updatedAt: at });
    expect(await a.control('t2', { action: 'cancel' })).toEqual({ kind: 'unchanged', status: 'cancelled' });

    await fromB.until((feed) => feed.told.length >= 3);
    const applied = [paused, resumed, cancelled].flatMap((answer) => (answer as { events: TaskEvent[] }).events);
    expect(fromB.told).toStrictEqual(applied);
    // The resume made t1 claimable and the cancel ended t3's parent: b was woken for both.
    expect(fromB.readies).toBeGreaterThanOrEqual(3);
    expect(ids(await claimOf(b, 10)).sort()).toEqual(['t1', 't3']);
  });

  it('a command for a task a host holds is sent to that host (this one too), and to no other', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    const [fromA, fromB] = [await listening(a), await listening(b)];
    await a.commit(batch([record(1), record(2)]));
    expect(ids(await claimOf(b, 1))).toEqual(['t1']);
    expect(ids(await claimOf(a, 1))).toEqual(['t2']);

    expect(await a.control('t1', { action: 'cancel' })).toEqual({ kind: 'sent' });
    expect(await a.control('t1', { action: 'setPriority', priority: 'low' })).toEqual({ kind: 'sent' });
    expect(await b.control('t2', { action: 'pause' })).toEqual({ kind: 'sent' });
    expect(await a.control('t2', { action: 'resume' })).toEqual({ kind: 'sent' });
    expect(await b.control('t1', { action: 'pause' })).toEqual({ kind: 'sent' });

    await fromA.until((feed) => feed.commands.length >= 2);
    await fromB.until((feed) => feed.commands.length >= 3);
    expect(fromA.commands).toEqual([
      { id: 't2', request: { action: 'pause' } },
      { id: 't2', request: { action: 'resume' } },
    ]);
    expect(fromB.commands).toEqual([
      { id: 't1', request: { action: 'cancel' } },
      { id: 't1', request: { action: 'setPriority', priority: 'low' } },
      { id: 't1', request: { action: 'pause' } },
    ]);
    // The holder applies them; the rows are as they were.
    expect(await a.get('t1')).toMatchObject({ status: 'queued', priority: 'normal' });
  });

  it('the patches of a host whose lease lapsed change nothing; the new holder writes, and lets go of the lease when the task ends', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    await a.commit(batch([record(1), record(2)]));
    expect(ids(await claimOf(a, 2, 5000, 10_000)).sort()).toEqual(['t1', 't2']);
    await a.commit(
      batch([], {
        t1: { status: 'running', attempts: 1, startedAt: 5000, updatedAt: 5000 },
        t2: { status: 'running', attempts: 1, startedAt: 5000, updatedAt: 5000 },
      }),
    );
    expect(await b.reclaimLapsed(10_001)).toBe(2);
    expect(ids(await claimOf(b, 1, 10_001, 40_000))).toEqual(['t1']); // t2 stays unheld

    const fromB = await listening(b);
    const late = batch([], {
      t1: { status: 'completed', progress: 100, result: 'late', completedAt: 10_002, updatedAt: 10_002 },
      t2: { status: 'running', attempts: 2, startedAt: 10_002, updatedAt: 10_002 },
    });
    await a.commit(
      eventsBatch(
        [
          { type: 'completed', taskId: 't1', taskType: 'work', at: 10_002, result: 'late' },
          { type: 'started', taskId: 't2', taskType: 'work', at: 10_002, attempt: 2 },
          { type: 'started', taskId: 'marker', taskType: 'work', at: 10_002, attempt: 1 },
        ],
        late,
      ),
    );
    expect(await a.get('t1')).toMatchObject({ status: 'queued', result: null, attempts: 1, updatedAt: 10_001 });
    expect(await a.get('t2')).toMatchObject({ status: 'queued', attempts: 1, updatedAt: 10_001 });
    // Nothing is told of what was not stored.
    await fromB.eventOf('marker');
    expect(fromB.told.map((event) => event.taskId)).toEqual(['marker']);

    await b.commit(batch([], { t1: { status: 'running', attempts: 2, startedAt: 10_003, updatedAt: 10_003 } }));
    await b.commit(batch([], { t1: { status: 'completed', progress: 100, result: 'done', completedAt: 10_004, updatedAt: 10_004 } }));
    expect(await b.get('t1')).toMatchObject({ status: 'completed', result: 'done', attempts: 2, completedAt: 10_004 });
    expect(await b.renew(['t1'], 50_000)).toEqual([]); // ended: no longer held
    await a.commit(batch([], { t1: { status: 'failed', error: { code: 'E', message: 'late' }, updatedAt: 10_005 } }));
    expect(await b.get('t1')).toMatchObject({ status: 'completed', result: 'done', error: null });
  });

  it('with aging, a queued task counts one level higher per agingMs it has waited, up to high', async () => {
    const store = await fresh();
    await store.commit(
      batch([
        record(1, { priority: 'high', createdAt: 2900 }),
        record(2, { priority: 'low', createdAt: 0 }), // three periods at 3500: high, and no higher
        record(3, { priority: 'normal', createdAt: 2950 }), // not one period yet
        record(4, { priority: 'low', createdAt: 2000 }), // one period: normal, after t3
        record(5, { priority: 'low', createdAt: 3000 }),
      ]),
    );
    const order = async (agingMs: number | null): Promise<string[]> => {
      const taken: string[] = [];
      for (;;) {
        const [task] = await store.claim({ types: ['work'], limit: 1, leaseUntil: 10_000, now: 3500, agingMs });
        if (task === undefined) break;
        taken.push(task.id);
      }
      await store.release(taken);
      return taken;
    };
    expect(await order(null)).toEqual(['t1', 't3', 't2', 't4', 't5']);
    expect(await order(1000)).toEqual(['t1', 't2', 't3', 't4', 't5']);
  });

  it('insertKeyed: two hosts storing one key at once store one task; the key is free again once it ends', async () => {
    const a = await fresh();
    const b = await peerOf(a);
    const fromB = await listening(b);
    const [first, second] = await Promise.all([a.insertKeyed(record(1, { key: 'k' }), { n: 1 }), b.insertKeyed(record(2, { key: 'k' }), { n: 2 })]);
    expect(first).toBe(second);
    expect(['t1', 't2']).toContain(first);
    expect(await a.stats()).toMatchObject({ total: 1, queued: 1 });
    expect(await a.get(first)).toMatchObject({ key: 'k', status: 'queued', payload: { n: first === 't1' ? 1 : 2 } });
    await fromB.until((feed) => feed.readies >= 1);

    // Running, it still holds the key.
    expect(ids(await claimOf(a, 1))).toEqual([first]);
    await a.commit(batch([], { [first]: { status: 'running', attempts: 1, startedAt: 5000, updatedAt: 5000 } }));
    expect(await b.insertKeyed(record(3, { key: 'k' }), { n: 3 })).toBe(first);
    expect(await b.insertKeyed(record(4, { key: 'other' }), { n: 4 })).toBe('t4');

    await a.commit(batch([], { [first]: { status: 'completed', completedAt: 6000, updatedAt: 6000 } }));
    expect(await b.insertKeyed(record(5, { key: 'k' }), { n: 5 })).toBe('t5');
    expect(await a.get('t5')).toMatchObject({ key: 'k', status: 'queued', payload: { n: 5 } });
    expect(await a.stats()).toMatchObject({ total: 3, queued: 2, completed: 1 });
  });
}
