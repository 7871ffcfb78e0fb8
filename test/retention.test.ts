import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetentionSweeper, type Retention } from '../src/scheduler/retention.js';
import { SqliteTaskStore } from '../src/store/sqlite-store.js';
import type { FinishedStatus, NewTaskRecord, TaskPatch } from '../src/store/task-store.js';

/*
 * RetentionSweeper against a real in-memory store. setTimeout and Date are fake, so hours
 * pass at once; setImmediate stays real, so a "turn" below is one real turn of the event
 * loop (microseconds, not a sleep). Faking setImmediate too would not do: this vitest's
 * fake clock defers an immediate queued from a timer's promise work to a later tick.
 */

const T0 = 1_000_000;
const HOUR = 3_600_000;

let store: SqliteTaskStore;
let sweeper: RetentionSweeper | undefined;
let seq = 0;

beforeEach(() => {
  vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  store = SqliteTaskStore.open(':memory:');
  seq = 0;
});

afterEach(async () => {
  sweeper?.stop();
  sweeper = undefined;
  expect(vi.getTimerCount()).toBe(0); // no timer outlives stop()
  await store.close();
  vi.useRealTimers();
});

/** Inserts finished rows; returns their ids. */
async function finished(status: FinishedStatus, completedAts: number[]): Promise<string[]> {
  const inserts: NewTaskRecord[] = [];
  const patches = new Map<string, TaskPatch>();
  for (const completedAt of completedAts) {
    const id = `t${++seq}`;
    inserts.push({
      seq, id, type: 'work', name: null, description: null, priority: 'normal',
      createdAt: completedAt - 1, runAt: null, timeoutMs: null, retries: 0, backoff: null, key: null,
      dependsOn: [], onParentFailure: null, group: null,
    });
    patches.set(id, { status, completedAt, updatedAt: completedAt });
  }
  await store.commit({ inserts, payloads: inserts.map(() => null), changes: inserts.map(() => undefined), patches, events: [] });
  return inserts.map((r) => r.id);
}

function open(retention: Retention, extra: { batchSize?: number; beforeSweep?: () => Promise<void> } = {}) {
  // The clock the sweeper reads is injected; here it is the fake one, so it moves with the timers.
  sweeper = new RetentionSweeper({ store, retention, now: () => Date.now(), ...extra });
  return sweeper;
}

/** Lets start()'s store reads settle and runs a timer due now. */
const settle = () => vi.advanceTimersByTimeAsync(0);
/** One real turn of the event loop: immediates queued before it run first. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function present(ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of ids) if (await store.get(id)) out.push(id);
  return out;
}

describe('RetentionSweeper', () => {
  it('removes rows older than the retention and keeps newer ones', async () => {
    const old = await finished('completed', [T0 - 2 * HOUR, T0 - HOUR - 1]);
    const young = await finished('completed', [T0 - 10, T0]);
    open({ completed: HOUR }).start();
    await settle();
    expect(await present(old)).toEqual([]); // due before T0: swept at once
    expect(await present(young)).toEqual(young);

    await vi.advanceTimersByTimeAsync(HOUR - 11);
    expect(await present(young)).toEqual(young);
    await vi.advanceTimersByTimeAsync(1); // T0 - 10 + HOUR
    expect(await present(young)).toEqual([young[1]]);
    await vi.advanceTimersByTimeAsync(10);
    expect(await present(young)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0); // nothing left to wait for
  });

  it('keeps each status its own time; a status without a retention is never swept', async () => {
    const at = T0 - 5 * HOUR;
    const completed = await finished('completed', [at]);
    const failed = await finished('failed', [at]);
    const cancelled = await finished('cancelled', [at]);
    const oldest = vi.spyOn(store, 'oldestFinished');
    const sweep = vi.spyOn(store, 'sweep');
    open({ completed: HOUR, failed: 10 * HOUR }).start();
    await settle();
    expect(await present([...completed, ...failed, ...cancelled])).toEqual([...failed, ...cancelled]);

    await vi.advanceTimersByTimeAsync(5 * HOUR);
    expect(await present([...failed, ...cancelled])).toEqual(cancelled);
    await vi.advanceTimersByTimeAsync(100 * HOUR);
    expect(await present(cancelled)).toEqual(cancelled);
    expect(oldest.mock.calls.some(([s]) => s === 'cancelled')).toBe(false);
    expect(sweep.mock.calls.some(([s]) => s === 'cancelled')).toBe(false);
  });

  it('deletes 2,000 due rows in batches of 500, one batch per turn of the event loop', async () => {
    await finished('completed', Array.from({ length: 2000 }, (_, i) => T0 - HOUR - 2000 + i));
    const keep = await finished('completed', [T0 - HOUR + 1]);
    const log: string[] = [];
    const sweep = vi.spyOn(store, 'sweep');
    sweep.mockImplementation(async (...args) => {
      const n = await SqliteTaskStore.prototype.sweep.apply(store, args);
      log.push(`sweep ${n}`);
      // Another callback asks for a turn: it must run before the next batch does.
      setImmediate(() => log.push('other'));
      return n;
    });
    open({ completed: HOUR }).start();
    await Promise.resolve();
    expect(sweep).not.toHaveBeenCalled(); // start() only reads and arms; the sweep has its own turn

    await settle(); // the timer start() armed (due now) fires: one batch, then it yields
    expect(sweep).toHaveBeenCalledTimes(1);
    for (let n = 2; n <= 5; n++) {
      await turn();
      expect(sweep).toHaveBeenCalledTimes(n); // exactly one batch per turn of the loop
    }
    await turn();
    expect(log).toEqual(['sweep 500', 'other', 'sweep 500', 'other', 'sweep 500', 'other', 'sweep 500', 'other', 'sweep 0', 'other']);
    for (const call of sweep.mock.calls) expect(call).toEqual(['completed', T0 - HOUR, 500]);
    expect((await store.stats()).completed).toBe(1);
    expect(await present(keep)).toEqual(keep);
    expect(vi.getTimerCount()).toBe(1); // re-armed for `keep`
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(await present(keep)).toEqual([]);
  });

  it('re-arms for the next due row after a sweep, from the store', async () => {
    await finished('completed', [T0 - HOUR, T0 + 1000]);
    const next = await finished('completed', [T0 + 5000]);
    open({ completed: HOUR }).start();
    await settle();
    expect((await store.stats()).completed).toBe(2);
    expect(vi.getTimerCount()).toBe(1);
    // The row at T0 + 1000 was read at start; T0 + 5000 is found by the re-read after it.
    await vi.advanceTimersByTimeAsync(HOUR + 1000);
    expect((await store.stats()).completed).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(3999);
    expect(await present(next)).toEqual(next);
    await vi.advanceTimersByTimeAsync(1);
    expect(await present(next)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('notifyFinished arms the timer without querying the store', async () => {
    const oldest = vi.spyOn(store, 'oldestFinished');
    const s = open({ completed: HOUR, failed: 2 * HOUR });
    s.start();
    await settle();
    expect(vi.getTimerCount()).toBe(0); // empty store: nothing to wait for
    oldest.mockClear();

    const ids = await finished('completed', [T0, T0 + 1, T0 + 2]);
    for (let i = 0; i < 1000; i++) s.notifyFinished('completed', T0 + (i % 3));
    s.notifyFinished('cancelled', T0); // no retention: ignored
    expect(oldest).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(HOUR + 2);
    expect(await present(ids)).toEqual([]);
  });

  it('keeps a row reported during a sweep even if the re-read cannot see it yet', async () => {
    await finished('completed', [T0 - 2 * HOUR]);
    const s = open({ completed: HOUR });
    vi.spyOn(store, 'sweep').mockImplementationOnce(async (...args) => {
      s.notifyFinished('completed', T0); // finished meanwhile; its write still pending
      return SqliteTaskStore.prototype.sweep.apply(store, args);
    });
    s.start();
    await settle();
    expect((await store.stats()).completed).toBe(0);
    expect(vi.getTimerCount()).toBe(1); // the store had nothing left; the report is kept
    const late = await finished('completed', [T0]); // the write lands
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(await present(late)).toEqual([]);
  });

  it('runs beforeSweep first, so rows still being written are swept too', async () => {
    const s = open({ failed: 0 }, {
      beforeSweep: async () => {
        await finished('failed', [T0]); // the runtime's pending flush
      },
    });
    s.start();
    await settle();
    s.notifyFinished('failed', T0);
    await settle();
    expect((await store.stats()).failed).toBe(0);
  });

  it('stop() clears everything, also mid-sweep, and is idempotent', async () => {
    await finished('completed', Array.from({ length: 2000 }, (_, i) => T0 - HOUR - 2000 + i));
    await finished('completed', [T0 + 10]);
    const sweep = vi.spyOn(store, 'sweep');
    const s = open({ completed: HOUR });
    s.start();
    await settle();
    expect(sweep).toHaveBeenCalledTimes(1); // waiting for its turn before batch 2
    s.stop();
    s.stop();
    expect(vi.getTimerCount()).toBe(0);
    await turn();
    await turn();
    await vi.advanceTimersByTimeAsync(10 * HOUR);
    expect(sweep).toHaveBeenCalledTimes(1);
    s.notifyFinished('completed', T0);
    s.start();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not keep the process alive: its timer is unref()ed', async () => {
    await finished('completed', [T0]);
    const unref = vi.fn();
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((...args: Parameters<typeof real>) => {
      const timer = real(...args);
      const original = timer.unref.bind(timer);
      timer.unref = () => {
        unref();
        return original();
      };
      return timer;
    }) as typeof real);
    open({ completed: HOUR }).start();
    await settle();
    spy.mockRestore();
    expect(vi.getTimerCount()).toBe(1);
    expect(unref).toHaveBeenCalled();
  });

  it('reports a failing store and tries again later, not in a hot loop', async () => {
    await finished('completed', [T0 - 2 * HOUR]);
    const errors: unknown[] = [];
    const sweep = vi.spyOn(store, 'sweep').mockRejectedValueOnce(new Error('disk full'));
    sweeper = new RetentionSweeper({ store, retention: { completed: HOUR }, now: () => Date.now(), onError: (e) => errors.push(e) });
    sweeper.start();
    await settle();
    expect(errors).toHaveLength(1);
    expect(sweep).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(sweep).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sweep).toHaveBeenCalledTimes(2);
    expect((await store.stats()).completed).toBe(0);
  });
});
