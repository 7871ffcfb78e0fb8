/**
 * The overview's chart: read from the store, or, while the dashboard follows the events,
 * read once and then counted from the ends told after that read.
 */
import { describe, expect, it } from 'vitest';
import type { DashboardSource } from '../../src/dashboard/source.js';
import { Throughput } from '../../src/dashboard/throughput.js';
import type { ListFilter, Task, TaskEvent } from '../../src/types.js';

/** An event as the runtime tells it (every event names its task's type). */
const event = (fields: Record<string, unknown>): TaskEvent => ({ taskType: 'work', ...fields }) as unknown as TaskEvent;

const MINUTE = 60_000;
const NOW = 1000 * MINUTE + 30_000;

/** A source whose finished tasks ended at these times; it counts its list() calls. */
function sourceOf(ends: number[]) {
  const reads: ListFilter[] = [];
  const source = {
    list: async (filter: ListFilter) => {
      reads.push(filter);
      return ends.map((completedAt) => ({ completedAt }) as Task);
    },
  } as unknown as DashboardSource;
  return { source, reads };
}

describe('Throughput', () => {
  it('counts the newest finished tasks per minute of the last hour', async () => {
    const { source, reads } = sourceOf([NOW - 1000, NOW - 2000, NOW - MINUTE, NOW - 61 * MINUTE]);
    const chart = await new Throughput(source).lastHour(4, NOW);
    expect(chart.minutes).toHaveLength(60);
    expect(chart.finished.at(-1)).toBe(2);
    expect(chart.finished.at(-2)).toBe(1);
    expect(chart.finished.reduce((a, b) => a + b)).toBe(3);
    expect(chart.capped).toBe(false);
    expect(reads).toHaveLength(1);
  });

  it('while following, reads once, then counts the ends told after that read', async () => {
    const { source, reads } = sourceOf([NOW - 1000]);
    const throughput = new Throughput(source);
    throughput.follow(true);
    expect((await throughput.lastHour(1, NOW)).finished.at(-1)).toBe(1);
    throughput.add(event({ type: 'completed', taskId: 'a', at: NOW - 500, result: null }));
    throughput.add(event({ type: 'failed', taskId: 'b', at: NOW - 400, error: { code: 'E', message: 'no' } }));
    throughput.add(event({ type: 'started', taskId: 'c', at: NOW - 300, attempt: 1 }));
    // An end the read already held is not counted again.
    throughput.add(event({ type: 'cancelled', taskId: 'd', at: NOW - 1000, error: { code: 'E', message: 'no' } }));
    const chart = await throughput.lastHour(3, NOW + 10_000);
    expect(chart.finished.at(-1)).toBe(3);
    expect(reads).toHaveLength(1);

    // No longer following: the next chart reads again.
    throughput.follow(false);
    await throughput.lastHour(3, NOW + 20_000);
    expect(reads).toHaveLength(2);
  });
});
