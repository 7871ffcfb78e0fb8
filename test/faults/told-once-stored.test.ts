import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from 'offthread';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import type { WriteBatch } from '../../src/store/task-store.js';
import { WriteBatcher } from '../../src/store/write-batcher.js';
import { EventBus } from '../../src/streams/event-bus.js';
import { StoredEvents } from '../../src/streams/stored-events.js';
import { Gates, openRuntime, tempDatabase } from '../helpers.js';

const ENDS = new Set(['completed', 'failed', 'cancelled']);

const readers: Database.Database[] = [];
afterEach(() => {
  for (const reader of readers.splice(0)) reader.close();
});

describe('an end is told only once it is stored', () => {
  it('every completed, failed and cancelled event, result and cancel finds its row ended in the file', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const rt = await openRuntime({ database, concurrency: 2, services: gates.services });
    // A second connection reads what is committed, synchronously, at the moment each end is told.
    const reader = new Database(database, { readonly: true });
    readers.push(reader);
    const statusOf = reader.prepare<[string], { status: string }>('SELECT status FROM tasks WHERE id = ?');
    const seen: string[] = [];
    const early: string[] = [];
    const check = (id: string, what: string): void => {
      const stored = statusOf.get(id)?.status;
      seen.push(what);
      if (stored === undefined || !ENDS.has(stored)) early.push(`${what} of ${id} told while the file says ${stored}`);
    };
    rt.events$.subscribe((event: TaskEvent) => {
      if (ENDS.has(event.type)) check(event.taskId, event.type);
    });
    const echoes = await Promise.all(Array.from({ length: 60 }, (_, i) => rt.submit('echo', i)));
    const fails = await Promise.all(Array.from({ length: 10 }, () => rt.submit('fail', 'no', { retries: 0 })));
    const held = await rt.submit('gated', { gate: 'held' });
    const queued = await rt.submit('echo', 'never', { runAt: Date.now() + 3_600_000 });
    const results = echoes.map((h) => h.result().then(() => check(h.id, 'result')));
    const failures = fails.map((h) => h.result().catch(() => check(h.id, 'failure')));
    await gates.reached('held');
    const cancels = [held, queued].map((h) => rt.cancel(h.id).then(() => check(h.id, 'cancel')));
    await Promise.all([...results, ...failures, ...cancels]);
    await rt.whenIdle();
    expect(early).toEqual([]);
    // Every end was told, and checked: 60 completions and results, 10 failures twice, 2 cancels twice.
    expect(seen.filter((w) => w === 'completed')).toHaveLength(60);
    expect(seen.filter((w) => w === 'result')).toHaveLength(60);
    expect(seen.filter((w) => w === 'failed' || w === 'failure')).toHaveLength(20);
    expect(seen.filter((w) => w === 'cancelled' || w === 'cancel')).toHaveLength(4);
    await rt.close();
  });
});

describe('StoredEvents with a store that cannot write', () => {
  it('holds an end, and every event after it, until its batch is written; then tells them in order', async () => {
    const store = SqliteTaskStore.open(':memory:');
    let full = true;
    const commit = store.commit.bind(store);
    store.commit = async (batch: WriteBatch) => {
      if (full) throw Object.assign(new Error('disk full'), { code: 'ERR_STORE_FULL' });
      await commit(batch);
    };
    let failures = 0;
    let refused!: () => void;
    const firstRefusal = new Promise<void>((resolve) => (refused = resolve));
    const writer = new WriteBatcher(store, {
      onFailing: () => {
        failures++;
        refused();
      },
      keepable: (error) => (error as { code?: unknown }).code === 'ERR_STORE_FULL',
    });
    const bus = new EventBus();
    const told: string[] = [];
    bus.events$.subscribe((event) => told.push(`${event.type} ${event.taskId}`));
    const events = new StoredEvents(bus, writer);
    events.emit({ type: 'started', taskId: 'a', taskType: 'work', at: 1, attempt: 1 });
    writer.patch('a', { status: 'completed', completedAt: 2, updatedAt: 2 });
    events.emitEnd({ type: 'completed', taskId: 'a', taskType: 'work', at: 2, result: 1 });
    events.emit({ type: 'started', taskId: 'b', taskType: 'work', at: 3, attempt: 1 });
    await firstRefusal;
    expect(told).toEqual(['started a']);
    full = false;
    await writer.flush();
    expect(told).toEqual(['started a', 'completed a', 'started b']);
    // Nothing waits now: told at once.
    events.emit({ type: 'progress', taskId: 'b', taskType: 'work', at: 4, progress: 50, message: null });
    expect(told.at(-1)).toBe('progress b');
    expect(failures).toBe(1);
    writer.close();
    await store.close();
  });

  it('drops an end whose write was given up (a failure at close), and tells what came after it', async () => {
    const store = SqliteTaskStore.open(':memory:');
    store.commit = async () => {
      throw Object.assign(new Error('broken'), { code: 'ERR_STORE_IO' });
    };
    const writer = new WriteBatcher(store);
    const bus = new EventBus();
    const told: string[] = [];
    bus.events$.subscribe((event) => told.push(`${event.type} ${event.taskId}`));
    const events = new StoredEvents(bus, writer);
    writer.patch('a', { status: 'failed', completedAt: 2, updatedAt: 2 });
    events.emitEnd({ type: 'failed', taskId: 'a', taskType: 'work', at: 2, error: { code: 'E', message: 'm' } });
    events.emit({ type: 'started', taskId: 'b', taskType: 'work', at: 3, attempt: 1 });
    await expect(writer.flush()).rejects.toMatchObject({ code: 'ERR_STORE_IO' });
    expect(told).toEqual(['started b']);
    writer.close();
    await store.close();
  });
});
