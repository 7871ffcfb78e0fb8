/** The events a task's page shows: bounded, in order, runs of progress collapsed. */
import { describe, expect, it } from 'vitest';
import { Timeline } from '../../src/dashboard/timeline.js';
import type { TaskEvent } from '../../src/types.js';

/** An event as the runtime tells it (every event names its task's type). */
const event = (fields: Record<string, unknown>): TaskEvent => ({ taskType: 'work', ...fields }) as unknown as TaskEvent;
const progress = (taskId: string, at: number): TaskEvent => event({ type: 'progress', taskId, at, progress: at, message: null });

describe('Timeline', () => {
  it("keeps a task's events in order, a run of progress as its last, and the last 50 of them", () => {
    const timeline = new Timeline();
    timeline.add(event({ type: 'created', taskId: 'a', at: 1, taskType: 'work', priority: 'normal' }));
    timeline.add(event({ type: 'started', taskId: 'a', at: 2, attempt: 1 }));
    timeline.add(progress('a', 3));
    timeline.add(progress('b', 3));
    timeline.add(progress('a', 4));
    timeline.add(event({ type: 'paused', taskId: 'a', at: 5 }));
    timeline.add(progress('a', 6));
    expect(timeline.of('a').map((e) => [e.type, e.at])).toEqual([['created', 1], ['started', 2], ['progress', 4], ['paused', 5], ['progress', 6]]);
    expect(timeline.of('b').map((e) => e.at)).toEqual([3]);
    expect(timeline.of('nope')).toEqual([]);
    for (let i = 0; i < 60; i++) timeline.add(event({ type: 'resumed', taskId: 'c', at: 100 + i }));
    expect(timeline.of('c').map((e) => e.at)).toEqual(Array.from({ length: 50 }, (_, i) => 110 + i));
  });

  it('holds the last 10,000 events of all tasks', () => {
    const timeline = new Timeline();
    timeline.add(event({ type: 'started', taskId: 'first', at: 0, attempt: 1 }));
    for (let i = 0; i < 10_000; i++) timeline.add(event({ type: 'started', taskId: `t${i}`, at: i, attempt: 1 }));
    expect(timeline.of('first')).toEqual([]);
    expect(timeline.of('t0')).toHaveLength(1);
    expect(timeline.of('t9999')).toHaveLength(1);
  });
});
