/**
 * A task type's rate (defineTask's `rate`) on a PostgreSQL queue shared by three runtimes
 * (hosts): it holds for the whole queue, not per host (src/store/postgres/pg-type-rates.ts),
 * and a type held by its rate never holds back the others. Checked on the stored start
 * times, never by time.
 */
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { openRuntime } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';
import type { TaskRuntime } from 'offthread';

const HANDLERS = new URL('../fixtures/type-rate-handlers.js', import.meta.url);

async function closeAll(runtimes: TaskRuntime[]): Promise<void> {
  for (const runtime of runtimes) await runtime.close();
}

describe('type rates across hosts (PostgreSQL)', () => {
  it("a type's rate holds across three hosts: at most count starts in any window of perMs", async () => {
    const database = await freshDatabase();
    const rate = { count: 2, perMs: 300 };
    const hosts = await Promise.all([1, 2, 3].map(() => openRuntime({ database, concurrency: 2, handlers: HANDLERS })));
    const payloads = Array.from({ length: 12 }, (_, i) => i);
    const paced = await hosts[0]!.submitMany(payloads.map((i) => ({ type: 'paced', payload: i })));
    expect(await Promise.all(paced.map((handle) => handle.result()))).toEqual(payloads);
    const tasks = await Promise.all(paced.map(async (handle) => (await hosts[2]!.get(handle.id))!));
    const starts = tasks.map((task) => task.startedAt!).sort((a, b) => a - b);
    for (let i = rate.count; i < starts.length; i++) {
      expect(starts[i]! - starts[i - rate.count]!, `starts ${i - rate.count} and ${i}: ${starts.join(', ')}`).toBeGreaterThanOrEqual(rate.perMs);
    }
    await closeAll(hosts);
  });

  it('a type held by its rate holds back no other type, and stays queued', async () => {
    const database = await freshDatabase();
    const producer = await openRuntime({ database, concurrency: 0, handlers: HANDLERS });
    const hosts = await Promise.all([1, 2, 3].map(() => openRuntime({ database, concurrency: 2, handlers: HANDLERS })));
    // Whichever two of the rated tasks start (the hosts claim at once), the producer hears them end.
    const twoEnded = firstValueFrom(producer.events$.pipe(filter((event) => event.type === 'completed' && event.taskType === 'quota'), take(2), toArray()));
    const quota = await producer.submitMany(Array.from({ length: 6 }, (_, i) => ({ type: 'quota', payload: i })));
    // Submitted after the rated ones, on the same priority: claimed while they are held.
    const echoes = await producer.submitMany(Array.from({ length: 6 }, (_, i) => ({ type: 'echo', payload: i })));
    expect(await Promise.all(echoes.map((handle) => handle.result()))).toEqual([0, 1, 2, 3, 4, 5]);
    await twoEnded;
    const statuses = await Promise.all(quota.map(async (handle) => (await producer.get(handle.id))!.status));
    // Two started in the minute, on whichever hosts claimed them; the other four wait, unclaimed.
    expect(statuses.filter((status) => status === 'completed')).toHaveLength(2);
    expect(statuses.filter((status) => status === 'queued')).toHaveLength(4);
    await closeAll([...hosts, producer]);
  });
});
