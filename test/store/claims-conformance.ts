import { describe, expect, it, afterEach } from 'vitest';
import type { StoreSharing } from '../../src/store/task-claims.js';
import type { TaskStore } from '../../src/store/task-store.js';
import { batch, record } from './conformance.js';

/*
 * The claims seam (src/store/task-claims.ts) every TaskStore meets, by its kind of sharing.
 * `open` returns an empty, open store; the suite closes what it opens.
 */
export function describeTaskClaimsConformance(name: string, sharing: StoreSharing, open: () => Promise<TaskStore> | TaskStore): void {
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

    if (sharing !== 'exclusive') return;

    it('an exclusive store hands every unfinished task over at recovery, and has none to claim', async () => {
      const store = await fresh();
      await store.commit(batch([record(1), record(2)]));
      const recovered = await store.recover(5000);
      expect(recovered.tasks.map((task) => task.id).sort()).toEqual(['t1', 't2']);
      expect(await store.claim({ types: ['work'], limit: 10, leaseUntil: 10_000, now: 5000 })).toEqual([]);
      // Renewing and releasing what it holds change nothing: the owner lock is its lease.
      await store.renew(['t1'], 20_000);
      await store.release(['t2']);
      expect((await store.recover(6000)).tasks.map((task) => task.id).sort()).toEqual(['t1', 't2']);
      let woken = 0;
      const stop = store.onReady(() => woken++);
      await store.commit(batch([record(3)]));
      stop();
      expect(woken).toBe(0);
    });
  });
}
