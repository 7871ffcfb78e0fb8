import { serialize } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { EncodedValue } from '../../src/store/encoded.js';
import type { NewTaskRecord, RecoveredState, StoredTask, TaskPatch, TaskStore, WriteBatch } from '../../src/store/task-store.js';
import { PRIORITIES, type Priority, type Task } from '../../src/types.js';

/*
 * The contract every TaskStore backend meets (BullMQ's adapter-conformance pattern). A
 * backend's test file calls describeTaskStoreConformance with a factory that returns an
 * empty, open store; every store the suite opens is closed after its test.
 */

/**
 * A new row as a test writes it: the record, with the payload it stores and any changes
 * made to it before it was written. batch() hands them to the store as a WriteBatch does,
 * the record alone and the other two beside it.
 */
export interface NewRow extends NewTaskRecord {
  readonly payload: unknown;
  readonly changes?: TaskPatch;
}

/** A new row with defaults; tests of a backend may use it too. `payload` is what it stores. */
export function record(seq: number, given: Partial<NewRow> = {}): NewRow {
  return {
    seq,
    id: `t${seq}`,
    type: 'work',
    name: null,
    description: null,
    priority: 'normal',
    // An explicit `payload: undefined` (no payload) is kept, not defaulted.
    payload: 'payload' in given ? given.payload : { n: seq },
    createdAt: 1000 + seq,
    runAt: null,
    timeoutMs: null,
    retries: 0,
    backoff: null,
    key: null,
    dependsOn: [],
    onParentFailure: null,
    group: null,
    ...given,
  };
}

/** The batch the write batcher would hand over for these rows and patches. */
export function batch(rows: readonly NewRow[], patches: Record<string, TaskPatch> = {}): WriteBatch {
  const inserts: NewTaskRecord[] = [];
  const payloads: unknown[] = [];
  const changes: (TaskPatch | undefined)[] = [];
  for (const { payload, changes: early, ...record } of rows) {
    // The record alone, frozen: a store reads the payload and the changes from the batch,
    // and writes nothing into the record (the scheduler's own task, in a runtime).
    inserts.push(Object.freeze(record));
    payloads.push(payload);
    changes.push(early);
  }
  return { inserts, payloads, changes, patches: new Map(Object.entries(patches)), events: [] };
}

/** Every unfinished row an exclusive store recovered, read as the owner reads them: priority first, then seq, a page at a time. */
export function unfinishedOf(recovered: RecoveredState): StoredTask[] {
  const rows: StoredTask[] = [];
  for (let rank = PRIORITIES.length - 1; rank >= 0; rank--) {
    for (let from = 0; ; ) {
      const page = recovered.unfinished!.page(rank, from, 3);
      rows.push(...page.slice(0, 2));
      if (page.length < 3) break;
      from = page[2]!.seq;
    }
  }
  return rows;
}

/** What a freshly inserted row reads back as. */
function asInserted({ seq: _seq, payload, changes: _changes, ...given }: NewRow): Task {
  const unset = { progressMessage: null, result: null, error: null, startedAt: null, completedAt: null };
  return {
    ...given,
    dependsOn: [...given.dependsOn],
    payload,
    ...unset,
    onParentFailure: given.onParentFailure ?? 'cancel',
    status: 'queued',
    progress: 0,
    attempts: 0,
    updatedAt: given.createdAt,
  };
}

/**
 * `sharing` says which `recover` the store has: an exclusive store hands every unfinished
 * task over at open (tested here); a shared store's is tested with its claims
 * (claims-conformance.ts).
 */
export function describeTaskStoreConformance(
  name: string,
  open: () => Promise<TaskStore> | TaskStore,
  sharing: 'exclusive' | 'shared' = 'exclusive',
): void {
  describe(`TaskStore conformance: ${name}`, () => {
    const opened: TaskStore[] = [];
    const fresh = async (): Promise<TaskStore> => {
      const store = await open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    const ids = (tasks: readonly Task[]) => tasks.map((t) => t.id);

    it('reads back what was inserted; structured-clone payloads survive', async () => {
      const store = await fresh();
      const payload = { when: new Date(1234), tags: new Map([['a', 1]]), bytes: Uint8Array.of(1, 2, 3), none: null };
      const r = record(1, { payload, name: 'first', description: 'the first one', priority: 'high' });
      const encoded = record(4, { payload: new EncodedValue(serialize({ big: 12n, set: new Set([1]) })) });
      await store.commit(batch([r, record(2, { payload: undefined }), record(3, { payload: null }), encoded]));

      const task = await store.get('t1');
      expect(task).toEqual(asInserted(r));
      const got = task!.payload as typeof payload;
      expect(got.when).toBeInstanceOf(Date);
      expect(got.when.getTime()).toBe(1234);
      expect(got.tags).toBeInstanceOf(Map);
      expect(got.tags.get('a')).toBe(1);
      expect(got.bytes).toBeInstanceOf(Uint8Array);
      expect([...got.bytes]).toEqual([1, 2, 3]);
      expect((await store.get('t2'))!.payload).toBeUndefined();
      expect((await store.get('t3'))!.payload).toBeNull();
      // Bytes encoded by submit are stored as they are, and read back as the value.
      expect((await store.get('t4'))!.payload).toEqual({ big: 12n, set: new Set([1]) });
      expect(await store.get('nope')).toBeUndefined();
    });

    it('a patch changes only the columns it names', async () => {
      const store = await fresh();
      const r = record(1);
      await store.commit(batch([r]));
      let expected = asInserted(r);

      const steps: TaskPatch[] = [
        { status: 'running', attempts: 1, startedAt: 2000, updatedAt: 2000 },
        { progress: 40, progressMessage: 'reading', updatedAt: 2100 },
        { priority: 'low', updatedAt: 2200 },
        { progress: 100, status: 'completed', result: new Map([['k', [1, 2]]]), completedAt: 2300, updatedAt: 2300 },
      ];
      for (const patch of steps) {
        await store.commit(batch([], { t1: patch }));
        expected = { ...expected, ...patch };
        expect(await store.get('t1')).toEqual(expected);
      }
      expect((await store.get('t1'))!.result).toBeInstanceOf(Map);

      await store.commit(batch([], { t1: { status: 'failed', error: { code: 'E_X', message: 'boom' }, updatedAt: 2400 } }));
      expect(await store.get('t1')).toMatchObject({ status: 'failed', error: { code: 'E_X', message: 'boom' }, progress: 100 });
      // A result encoded by the worker is stored as it is.
      await store.commit(batch([], { t1: { result: new EncodedValue(serialize([1, 'two'])), updatedAt: 2450 } }));
      expect((await store.get('t1'))!.result).toEqual([1, 'two']);
      // Nullable columns can be cleared; a null or undefined result reads back as null.
      await store.commit(batch([], { t1: { result: null, error: null, progressMessage: null, updatedAt: 2500 } }));
      expect(await store.get('t1')).toMatchObject({ result: null, error: null, progressMessage: null, startedAt: 2000 });
      await store.commit(batch([], { t1: { result: new EncodedValue(serialize(7)), updatedAt: 2600 } }));
      await store.commit(batch([], { t1: { result: undefined, updatedAt: 2700 } }));
      expect((await store.get('t1'))!.result).toBeNull();
    });

    it('get reads a saved checkpoint, decoded; list leaves it out; a cleared one is absent', async () => {
      const store = await fresh();
      const state = { done: 3, at: new Date(5), seen: new Set(['a']) };
      // One saved by a patch, one written with its row (saved before the INSERT went out).
      await store.commit(batch([record(1), record(2, { changes: { status: 'running', checkpoint: new EncodedValue(serialize('early')), updatedAt: 1500 } })]));
      await store.commit(batch([], { t1: { checkpoint: new EncodedValue(serialize(state)), updatedAt: 2000 } }));
      expect((await store.get('t1'))!.checkpoint).toEqual(state);
      expect((await store.get('t2'))!.checkpoint).toBe('early');
      for (const task of await store.list({})) expect('checkpoint' in task).toBe(false);
      await store.commit(batch([], { t1: { status: 'completed', checkpoint: null, updatedAt: 3000 } }));
      expect('checkpoint' in (await store.get('t1'))!).toBe(false);
    });

    it('applies a batch inserts first, then patches', async () => {
      const store = await fresh();
      await store.commit(batch([record(1)], { t1: { status: 'paused', updatedAt: 1500 } }));
      expect(await store.get('t1')).toMatchObject({ status: 'paused', updatedAt: 1500, createdAt: 1001 });
    });

    it('inserts a row with the changes made to it before it was written, as if patched', async () => {
      const store = await fresh();
      const finished = record(1, {
        changes: {
          status: 'completed',
          priority: 'high',
          progress: 100,
          progressMessage: 'done',
          result: new EncodedValue(serialize({ ok: true })),
          attempts: 1,
          startedAt: 1100,
          completedAt: 1200,
          updatedAt: 1200,
          runAt: null,
        },
      });
      const failed = record(2, { runAt: 5000, changes: { status: 'failed', error: { code: 'E', message: 'no' }, attempts: 2, updatedAt: 1300 } });
      await store.commit(batch([finished, failed, record(3)]));
      expect(await store.get('t1')).toMatchObject({
        status: 'completed',
        priority: 'high',
        progress: 100,
        progressMessage: 'done',
        result: { ok: true },
        error: null,
        attempts: 1,
        startedAt: 1100,
        completedAt: 1200,
        updatedAt: 1200,
        createdAt: 1001,
        payload: { n: 1 },
      });
      expect(await store.get('t2')).toMatchObject({ status: 'failed', error: { code: 'E', message: 'no' }, attempts: 2, runAt: 5000, result: null, updatedAt: 1300 });
      expect(await store.get('t3')).toEqual(asInserted(record(3)));
      expect(await store.stats()).toMatchObject({ completed: 1, failed: 1, queued: 1 });
    });

    it('applies every patch of a batch, whatever columns each sets', async () => {
      const store = await fresh();
      await store.commit(batch(Array.from({ length: 30 }, (_, i) => record(i + 1))));
      const patches: Record<string, TaskPatch> = {};
      const expected: Record<string, Partial<Task>> = {};
      for (let i = 1; i <= 30; i++) {
        const id = `t${i}`;
        if (i % 3 === 0) {
          patches[id] = { progress: i + 0.5, progressMessage: i % 2 === 1 ? `m${i}` : null, updatedAt: 2000 + i };
          expected[id] = { status: 'queued', progress: i + 0.5, progressMessage: i % 2 === 1 ? `m${i}` : null, updatedAt: 2000 + i };
        } else if (i % 3 === 1) {
          patches[id] = { status: 'completed', result: i % 2 === 1 ? { i } : undefined, progress: 100, completedAt: 3000 + i, updatedAt: 3000 + i };
          expected[id] = { status: 'completed', result: i % 2 === 1 ? { i } : null, progress: 100, completedAt: 3000 + i, updatedAt: 3000 + i };
        } else {
          const changes = { attempts: i, startedAt: null, runAt: 5000 + i, priority: 'high', updatedAt: 4000 + i } as const;
          patches[id] = { status: 'failed', error: { code: `E${i}`, message: 'no' }, checkpoint: new EncodedValue(serialize(i)), ...changes };
          expected[id] = { status: 'failed', error: { code: `E${i}`, message: 'no' }, checkpoint: i, ...changes };
        }
      }
      await store.commit(batch([], patches));
      for (const [id, task] of Object.entries(expected)) expect(await store.get(id), id).toMatchObject(task);
    });

    it('commits a batch of events alone, changing no row', async () => {
      const store = await fresh();
      await store.commit(batch([record(1)]));
      const events = batch([]);
      events.events.push({ type: 'progress', taskId: 't1', taskType: 'work', at: 2000, progress: 5, message: null });
      await store.commit(events);
      expect(await store.get('t1')).toEqual(asInserted(record(1)));
    });

    it('a patch for a task that is gone changes nothing and fails nothing', async () => {
      const store = await fresh();
      await store.commit(batch([record(1)], { ghost: { progress: 5, updatedAt: 1 } }));
      expect(await store.get('t1')).toBeDefined();
      expect(await store.get('ghost')).toBeUndefined();
    });

    it('a batch is atomic: a duplicate id fails it and leaves nothing of it', async () => {
      const store = await fresh();
      await store.commit(batch([record(1)]));
      const bad = batch([record(2), record(3), record(4, { id: 't1' })], { t1: { status: 'running', updatedAt: 9 } });
      await expect(store.commit(bad)).rejects.toThrow();
      expect(await store.get('t2')).toBeUndefined();
      expect(await store.get('t3')).toBeUndefined();
      expect(await store.get('t1')).toMatchObject({ status: 'queued', updatedAt: 1001 });
      expect((await store.stats()).total).toBe(1);
    });

    it('a payload that cannot be cloned fails the batch with ERR_NOT_CLONEABLE', async () => {
      const store = await fresh();
      const bad = batch([record(1), record(2, { payload: { f: () => 1 } })]);
      await expect(store.commit(bad)).rejects.toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
      expect((await store.stats()).total).toBe(0);
    });

    describe('list', () => {
      // createdAt ties between t2 and t3 are broken by seq; newest first.
      const rows = [
        record(1, { createdAt: 100, type: 'a', priority: 'low' }),
        record(2, { createdAt: 200, type: 'b', priority: 'high' }),
        record(3, { createdAt: 200, type: 'a', priority: 'normal' }),
        record(4, { createdAt: 300, type: 'b', priority: 'normal' }),
        record(5, { createdAt: 50, type: 'c', priority: 'high' }),
      ];
      const seeded = async (): Promise<TaskStore> => {
        const store = await fresh();
        await store.commit(
          batch(rows, {
            t2: { status: 'running', updatedAt: 400 },
            t4: { status: 'completed', updatedAt: 400 },
            t5: { status: 'failed', updatedAt: 400 },
          }),
        );
        return store;
      };

      it('is newest first: created_at, then seq, descending', async () => {
        const store = await seeded();
        expect(ids(await store.list({}))).toEqual(['t4', 't3', 't2', 't1', 't5']);
      });

      it('filters by status, priority and type, each one value or several', async () => {
        const store = await seeded();
        expect(ids(await store.list({ status: 'queued' }))).toEqual(['t3', 't1']);
        expect(ids(await store.list({ status: ['running', 'failed'] }))).toEqual(['t2', 't5']);
        expect(ids(await store.list({ priority: 'high' }))).toEqual(['t2', 't5']);
        expect(ids(await store.list({ priority: ['low', 'normal'] }))).toEqual(['t4', 't3', 't1']);
        expect(ids(await store.list({ type: 'a' }))).toEqual(['t3', 't1']);
        expect(ids(await store.list({ type: ['b', 'c'] }))).toEqual(['t4', 't2', 't5']);
        expect(ids(await store.list({ type: 'b', priority: 'normal', status: 'completed' }))).toEqual(['t4']);
        expect(ids(await store.list({ status: ['queued'] }))).toEqual(['t3', 't1']);
        expect(ids(await store.list({ status: ['queued', 'completed'], type: 'b' }))).toEqual(['t4']);
        expect(await store.list({ status: [] })).toEqual([]);
        expect(await store.list({ type: 'zzz' })).toEqual([]);
      });

      it('pages with limit and offset', async () => {
        const store = await seeded();
        expect(ids(await store.list({ limit: 2 }))).toEqual(['t4', 't3']);
        expect(ids(await store.list({ limit: 2, offset: 2 }))).toEqual(['t2', 't1']);
        expect(ids(await store.list({ offset: 4 }))).toEqual(['t5']);
        expect(ids(await store.list({ status: 'queued', limit: 1, offset: 1 }))).toEqual(['t1']);
      });

      it('pages by keyset: before a task, in list order, with the filters; nothing before an unknown id', async () => {
        const store = await seeded();
        // t3 and t2 share created_at: seq orders them, so the page after t3 starts at t2.
        expect(ids(await store.list({ before: 't3' }))).toEqual(['t2', 't1', 't5']);
        expect(ids(await store.list({ before: 't4', limit: 2 }))).toEqual(['t3', 't2']);
        expect(ids(await store.list({ before: 't2', type: ['a', 'c'] }))).toEqual(['t1', 't5']);
        expect(ids(await store.list({ before: 't4', status: 'queued', limit: 1 }))).toEqual(['t3']);
        expect(await store.list({ before: 't5' })).toEqual([]);
        expect(await store.list({ before: 'nope' })).toEqual([]);
      });

      it('returns at most 100 by default', async () => {
        const store = await fresh();
        await store.commit(batch(Array.from({ length: 105 }, (_, i) => record(i + 1))));
        const listed = await store.list({});
        expect(listed).toHaveLength(100);
        expect(listed[0]!.id).toBe('t105');
      });
    });

    describe('search (a text filter over a bounded slice of the list)', () => {
      // Ten rows, t10 the newest. t1 and t10 share the id prefix "t1"; t3's name holds "t1" too.
      const names: Record<number, string | null> = { 2: 'Nightly export', 3: 'gift1', 5: 'nightly run', 7: null, 9: 'NIGHTLY' };
      const seeded = async (): Promise<TaskStore> => {
        const store = await fresh();
        const rows = Array.from({ length: 10 }, (_, i) => record(i + 1, { name: i + 1 in names ? names[i + 1]! : `other ${i + 1}` }));
        await store.commit(batch(rows, { t5: { status: 'completed', updatedAt: 2000 } }));
        return store;
      };
      const slice = async (store: TaskStore, filter: Parameters<TaskStore['search']>[0], text: string, scan: number, ids: 'match' | 'exclude' = 'match') => {
        const found = await store.search(filter, { text, ids, scan });
        return { ids: found.tasks.map((task) => task.id), scanned: found.scanned, last: found.last };
      };

      it('finds names that contain the text, A-Z in either case, newest first', async () => {
        const store = await seeded();
        expect(await slice(store, { limit: 10 }, 'nightly', 100)).toEqual({ ids: ['t9', 't5', 't2'], scanned: 10, last: null });
        expect(await slice(store, { limit: 10 }, 'zzz', 100)).toEqual({ ids: [], scanned: 10, last: null });
      });

      it('reads at most `scan` rows, and goes on from the last one read without missing a match', async () => {
        const store = await seeded();
        expect(await slice(store, { limit: 10 }, 'nightly', 3)).toEqual({ ids: ['t9'], scanned: 3, last: 't8' });
        expect(await slice(store, { limit: 10, before: 't8' }, 'nightly', 3)).toEqual({ ids: ['t5'], scanned: 3, last: 't5' });
        expect(await slice(store, { limit: 10, before: 't5' }, 'nightly', 3)).toEqual({ ids: ['t2'], scanned: 3, last: 't2' });
        expect(await slice(store, { limit: 10, before: 't2' }, 'nightly', 3)).toEqual({ ids: [], scanned: 1, last: null });
        // A slice that ends on the oldest row ends the list.
        expect(await slice(store, { limit: 10, before: 't4' }, 'nightly', 3)).toEqual({ ids: ['t2'], scanned: 3, last: null });
        expect(await slice(store, { limit: 10, before: 'nope' }, 'nightly', 3)).toEqual({ ids: [], scanned: 0, last: null });
      });

      it('stops at `limit` matches: the last one is where it goes on from', async () => {
        const store = await seeded();
        expect(await slice(store, { limit: 2 }, 'nightly', 100)).toEqual({ ids: ['t9', 't5'], scanned: 6, last: 't5' });
        expect(await slice(store, { limit: 2, before: 't5' }, 'nightly', 100)).toEqual({ ids: ['t2'], scanned: 4, last: null });
      });

      it('matches ids that start with the text, or leaves them out; with the list filters', async () => {
        const store = await seeded();
        expect((await slice(store, { limit: 10 }, 't1', 100)).ids).toEqual(['t10', 't3', 't1']);
        expect((await slice(store, { limit: 10 }, 't1', 100, 'exclude')).ids).toEqual(['t3']);
        expect(await slice(store, { limit: 10, status: 'completed' }, 'nightly', 100)).toEqual({ ids: ['t5'], scanned: 1, last: null });
        expect((await slice(store, { limit: 10, status: ['queued'], type: ['work'] }, 'nightly', 100)).ids).toEqual(['t9', 't2']);
      });

      it('findByPrefix reads up to `limit` tasks of the id range, by id', async () => {
        const store = await seeded();
        expect(ids(await store.findByPrefix('t1', 5))).toEqual(['t1', 't10']);
        expect(ids(await store.findByPrefix('t', 3))).toEqual(['t1', 't10', 't2']);
        expect(ids(await store.findByPrefix('t'))).toEqual(['t1', 't10']);
      });
    });

    it('counts tasks by status', async () => {
      const store = await fresh();
      expect(await store.stats()).toEqual({ total: 0, queued: 0, running: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 });
      await store.commit(
        batch([1, 2, 3, 4, 5, 6].map((s) => record(s)), {
          t2: { status: 'running', updatedAt: 1 },
          t3: { status: 'completed', updatedAt: 1 },
          t4: { status: 'completed', updatedAt: 1 },
          t5: { status: 'cancelled', updatedAt: 1 },
        }),
      );
      expect(await store.stats()).toEqual({ total: 6, queued: 2, running: 1, paused: 0, completed: 2, failed: 0, cancelled: 1 });
    });

    describe('cleanup', () => {
      const finished = (status: 'completed' | 'failed' | 'cancelled' | 'running', completedAt: number): TaskPatch => ({
        status,
        completedAt,
        updatedAt: completedAt,
      });
      const seeded = async (): Promise<TaskStore> => {
        const store = await fresh();
        await store.commit(
          batch([1, 2, 3, 4, 5, 6].map((s) => record(s)), {
            t1: finished('completed', 5000), // exactly at the cutoff: removed
            t2: finished('completed', 5001), // too recent
            t3: finished('failed', 1000),
            t4: finished('cancelled', 1000),
            t5: finished('running', 1000), // not finished, whatever completedAt says
          }),
        );
        return store;
      };
      const all = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;

      it('removes finished tasks old enough and returns how many', async () => {
        const store = await seeded();
        expect(await store.cleanup({ olderThanMs: 1000, statuses: [...all] }, 6000)).toBe(3);
        expect(ids(await store.list({}))).toEqual(['t6', 't5', 't2']);
        expect(await store.cleanup({ olderThanMs: 1000, statuses: [...all] }, 6000)).toBe(0);
      });

      it('removes only the statuses asked for', async () => {
        const store = await seeded();
        expect(await store.cleanup({ olderThanMs: 0, statuses: ['failed'] }, 6000)).toBe(1);
        expect(await store.get('t3')).toBeUndefined();
        expect(await store.cleanup({ olderThanMs: 0, statuses: ['queued', 'running'] }, 6000)).toBe(0);
        expect((await store.stats()).total).toBe(5);
      });
    });

    describe('sweep and oldestFinished (retention)', () => {
      const finished = (status: 'completed' | 'failed' | 'cancelled' | 'running', completedAt: number): TaskPatch => ({
        status,
        completedAt,
        updatedAt: completedAt,
      });
      // completedAt out of seq order, so "oldest first" cannot pass by accident of insertion.
      const seeded = async (): Promise<TaskStore> => {
        const store = await fresh();
        await store.commit(
          batch([1, 2, 3, 4, 5, 6, 7, 8].map((s) => record(s)), {
            t1: finished('completed', 3000),
            t2: finished('completed', 1000),
            t3: finished('completed', 2000),
            t4: finished('completed', 5001), // after the cutoff used below
            t5: finished('failed', 500),
            t6: finished('cancelled', 800),
            t7: finished('running', 100), // not finished, whatever completedAt says
            // t8 stays queued, completedAt null
          }),
        );
        return store;
      };

      it('removes at most limit rows of one status, oldest first, cutoff inclusive', async () => {
        const store = await seeded();
        expect(await store.sweep('completed', 3000, 2)).toBe(2);
        expect(await store.get('t2')).toBeUndefined();
        expect(await store.get('t3')).toBeUndefined();
        expect(await store.get('t1')).toBeDefined();
        expect(await store.sweep('completed', 3000, 2)).toBe(1); // t1, exactly at the cutoff
        expect(await store.sweep('completed', 3000, 2)).toBe(0);
        expect(ids(await store.list({}))).toEqual(['t8', 't7', 't6', 't5', 't4']);
      });

      it('leaves other statuses and unfinished rows alone, and refuses a limit below 1', async () => {
        const store = await seeded();
        expect(await store.sweep('cancelled', 10_000, 0)).toBe(0);
        expect(await store.sweep('cancelled', 10_000, -1)).toBe(0);
        expect(await store.sweep('cancelled', 10_000, 100)).toBe(1);
        expect(await store.sweep('failed', 499, 100)).toBe(0);
        expect(await store.sweep('failed', 500, 100)).toBe(1);
        // A caller that gets around the type still cannot remove an unfinished task.
        expect(await store.sweep('running' as 'failed', 10_000, 100)).toBe(0);
        expect(ids(await store.list({ status: ['running', 'queued'] }))).toEqual(['t8', 't7']);
        expect((await store.stats()).completed).toBe(4);
      });

      it('oldestFinished is the smallest completedAt of that status, or null', async () => {
        const store = await seeded();
        expect(await store.oldestFinished('completed')).toBe(1000);
        expect(await store.oldestFinished('failed')).toBe(500);
        expect(await store.oldestFinished('cancelled')).toBe(800);
        await store.sweep('completed', 1000, 10);
        expect(await store.oldestFinished('completed')).toBe(2000);
        await store.sweep('cancelled', 1000, 10);
        expect(await store.oldestFinished('cancelled')).toBeNull();
        expect(await store.oldestFinished('running' as 'failed')).toBeNull();
        expect(await (await fresh()).oldestFinished('completed')).toBeNull();
      });
    });

    if (sharing === 'exclusive') {
      describe('recover', () => {
        it('re-queues running tasks and hands over the unfinished ones, read by priority then seq, by id or by key', async () => {
          const store = await fresh();
          const p = (priority: Priority) => ({ priority });
          await store.commit(
            batch(
              [record(1, p('normal')), record(2, p('high')), record(3, p('low')), record(4, p('high')), record(5), record(6)],
              {
                t2: { status: 'running', attempts: 1, startedAt: 1500, updatedAt: 1500 },
                t3: { status: 'paused', updatedAt: 1500 },
                t5: { status: 'completed', completedAt: 1600, updatedAt: 1600 },
              },
            ),
          );
          const recovered = await store.recover(9000);
          const { nextSeq } = recovered;
          const tasks = unfinishedOf(recovered);
          expect(tasks.map((t) => t.id)).toEqual(['t2', 't4', 't1', 't6', 't3']);
          const bySeq = [...tasks].sort((a, b) => a.seq - b.seq);
          expect(bySeq.map((t) => [t.id, t.seq, t.status, t.priority])).toEqual([
            ['t1', 1, 'queued', 'normal'],
            ['t2', 2, 'queued', 'high'],
            ['t3', 3, 'paused', 'low'],
            ['t4', 4, 'queued', 'high'],
            ['t6', 6, 'queued', 'normal'],
          ]);
          expect(nextSeq).toBe(7);
          expect(bySeq[1]).toMatchObject({ attempts: 1, startedAt: 1500, updatedAt: 9000, payload: { n: 2 } });
          expect(await store.get('t2')).toMatchObject({ status: 'queued', updatedAt: 9000 });
          expect(await store.get('t3')).toMatchObject({ status: 'paused', updatedAt: 1500 });
          expect(recovered.unfinished!.byId('t3')).toMatchObject({ id: 't3', seq: 3, status: 'paused' });
          expect(recovered.unfinished!.byId('t5')).toBeUndefined();
          // Rows stored after the open are not the backlog's.
          await store.commit(batch([record(7, { key: 'k' })]));
          expect(recovered.unfinished!.byId('t7')).toBeUndefined();
          expect(recovered.unfinished!.byKey('k')).toEqual([]);
          expect(unfinishedOf(await store.recover(9500)).map((t) => t.id)).toContain('t7');
        });

        it('counts finished rows in nextSeq, and starts at 1 when empty', async () => {
          const store = await fresh();
          const empty = await store.recover(1);
          expect([empty.nextSeq, unfinishedOf(empty)]).toEqual([1, []]);
          await store.commit(batch([record(1), record(41)], { t41: { status: 'completed', completedAt: 5, updatedAt: 5 } }));
          const recovered = await store.recover(2);
          const { nextSeq } = recovered;
          expect(ids(unfinishedOf(recovered))).toEqual(['t1']);
          expect(nextSeq).toBe(42);
        });
      });
    }

    it('close is idempotent', async () => {
      const store = await fresh();
      await store.close();
      await store.close();
    });
  });
}
