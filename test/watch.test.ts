import { Subject, of } from 'rxjs';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { ofType } from '../src/streams/operators.js';
import { watchTasks, type WatchSource } from '../src/streams/watch.js';
import type { Task, TaskEvent, TaskFilter } from '../src/types.js';

const INTERVAL = 100;

/**
 * Only the fields watch reads and compares; the cast keeps this fixture from breaking each
 * time Task gains a field.
 */
function task(id: string, patch: Partial<Task> = {}): Task {
  return { id, status: 'queued', progress: 0, progressMessage: null, updatedAt: 0, ...patch } as Task;
}

const event = (taskId = 'a'): TaskEvent => ({ type: 'paused', taskId, taskType: 'work', at: 0 });

/** A source whose list() calls wait until the test answers them, oldest first. */
class FakeSource implements WatchSource {
  readonly events = new Subject<TaskEvent>();
  readonly events$ = this.events.asObservable();
  readonly calls: Array<{ at: number; answered: boolean; resolve(tasks: Task[]): void; reject(error: unknown): void }> = [];
  inFlight = 0;
  maxInFlight = 0;

  list(_filter: TaskFilter): Promise<Task[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<Task[]>((resolve, reject) => {
      this.calls.push({ at: Date.now(), answered: false, resolve, reject });
    }).finally(() => this.inFlight--);
  }

  /** Answers the latest call and lets the watcher see the answer. */
  async answer(tasks: Task[]): Promise<void> {
    const call = this.calls.at(-1);
    // Answering twice would pass silently and hide a query that never ran.
    if (call === undefined || call.answered) throw new Error('no unanswered list() call');
    call.answered = true;
    call.resolve(tasks);
    await settle();
  }
}

/** Lets pending promise callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function watch(source: FakeSource) {
  const emitted: Task[][] = [];
  const state = { completed: false, error: undefined as unknown };
  const subscription = watchTasks({ status: 'running' }, source, INTERVAL).subscribe({
    next: (tasks) => emitted.push(tasks),
    complete: () => (state.completed = true),
    error: (error: unknown) => (state.error = error),
  });
  return { emitted, state, subscription };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('watchTasks', () => {
  it('queries at once on subscribe and emits the current list', async () => {
    const source = new FakeSource();
    const { emitted } = watch(source);
    expect(source.calls).toHaveLength(1);
    await source.answer([task('a')]);
    expect(emitted).toEqual([[task('a')]]);
  });

  it('is cold: nothing is queried before subscribe', () => {
    const source = new FakeSource();
    watchTasks({}, source, INTERVAL);
    expect(source.calls).toHaveLength(0);
  });

  it('turns a burst of 100 events into a leading and a trailing query, and emits the last state', async () => {
    const source = new FakeSource();
    const { emitted } = watch(source);
    await source.answer([task('a')]);
    await vi.advanceTimersByTimeAsync(INTERVAL * 5); // a quiet spell

    for (let i = 0; i < 100; i++) source.events.next(event());
    expect(source.calls).toHaveLength(2); // the leading query, at once
    await source.answer([task('a', { status: 'running', updatedAt: 1 })]);
    for (let i = 0; i < 100; i++) source.events.next(event());
    await vi.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(source.calls).toHaveLength(2); // nothing more within the interval
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toHaveLength(3); // the trailing query
    await source.answer([task('a', { status: 'completed', progress: 100, updatedAt: 2 })]);

    expect(emitted.at(-1)).toEqual([task('a', { status: 'completed', progress: 100, updatedAt: 2 })]);
    await vi.advanceTimersByTimeAsync(INTERVAL * 10);
    expect(source.calls).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never starts queries closer than the interval during a steady stream of events', async () => {
    const source = new FakeSource();
    watch(source);
    for (let t = 0; t < 2000; t += 10) {
      source.events.next(event());
      // Each query answers quickly, so only the throttle holds them back.
      const pending = source.calls.at(-1);
      pending?.resolve([task('a', { updatedAt: t })]);
      await vi.advanceTimersByTimeAsync(10);
    }
    const starts = source.calls.map((c) => c.at);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(INTERVAL);
    expect(starts.length).toBeLessThanOrEqual(2000 / INTERVAL + 1);
  });

  it('never runs two queries at once, and runs one more after a slow one', async () => {
    const source = new FakeSource();
    const { emitted } = watch(source);
    // The first query hangs while events keep coming, far past the interval.
    for (let i = 0; i < 10; i++) {
      source.events.next(event());
      await vi.advanceTimersByTimeAsync(INTERVAL);
    }
    expect(source.calls).toHaveLength(1);
    await source.answer([task('a')]); // the interval since its start is long gone: next one at once
    expect(source.calls).toHaveLength(2);
    await source.answer([task('a', { updatedAt: 5 })]);
    expect(emitted).toEqual([[task('a')], [task('a', { updatedAt: 5 })]]);
    expect(source.maxInFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(INTERVAL * 10);
    expect(source.calls).toHaveLength(2); // no event since: no query
  });

  it('does not re-emit an equal result', async () => {
    const source = new FakeSource();
    const { emitted } = watch(source);
    await source.answer([task('a'), task('b')]);
    const requery = async (tasks: Task[]): Promise<void> => {
      await vi.advanceTimersByTimeAsync(INTERVAL); // past the throttle: the event queries at once
      const before = source.calls.length;
      source.events.next(event());
      expect(source.calls).toHaveLength(before + 1);
      await source.answer(tasks);
    };
    await requery([task('a'), task('b', { payload: 'not compared' })]);
    expect(emitted).toHaveLength(1);
    await requery([task('a', { progressMessage: 'half' }), task('b')]);
    expect(emitted).toHaveLength(2);
    await requery([task('a', { progressMessage: 'half' })]); // b left the filter
    expect(emitted).toHaveLength(3);
    await requery([task('b'), task('a', { progressMessage: 'half' })]); // order changed
    expect(emitted).toHaveLength(4);
  });

  it('emits an empty list at once, not only after a change', async () => {
    const source = new FakeSource();
    const { emitted } = watch(source);
    await source.answer([]);
    expect(emitted).toEqual([[]]);
  });

  it('completes when events$ completes, clearing a pending timer', async () => {
    const source = new FakeSource();
    const { state } = watch(source);
    await source.answer([task('a')]);
    source.events.next(event()); // within the interval: arms the trailing timer
    expect(vi.getTimerCount()).toBe(1);
    source.events.complete();
    expect(state.completed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('completes at once if the runtime is already closed', () => {
    const list = vi.fn<(filter: TaskFilter) => Promise<Task[]>>();
    const events$ = of<TaskEvent>();
    let completed = false;
    watchTasks({}, { list, events$ }, INTERVAL).subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(list).not.toHaveBeenCalled();
  });

  it('unsubscribe stops listening and clears the timer', async () => {
    const source = new FakeSource();
    const { emitted, subscription } = watch(source);
    await source.answer([task('a')]);
    source.events.next(event());
    expect(vi.getTimerCount()).toBe(1);
    subscription.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    expect(source.events.observed).toBe(false);
    await vi.advanceTimersByTimeAsync(INTERVAL * 10);
    expect(source.calls).toHaveLength(1);
    expect(emitted).toHaveLength(1);
  });

  it('drops the answer of a query that was in flight at unsubscribe', async () => {
    const source = new FakeSource();
    const { emitted, subscription } = watch(source);
    subscription.unsubscribe();
    await source.answer([task('a')]);
    expect(emitted).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends an error of list() to the subscriber', async () => {
    const source = new FakeSource();
    const { state } = watch(source);
    await source.answer([task('a')]);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    source.events.next(event());
    const boom = new Error('store closed');
    source.calls.at(-1)!.reject(boom);
    await settle();
    expect(state.error).toBe(boom);
    expect(source.events.observed).toBe(false);
  });

  it('sends a synchronous throw of list() to the subscriber too', async () => {
    const boom = new Error('sync');
    const list = (): Promise<Task[]> => {
      throw boom;
    };
    let error: unknown;
    watchTasks({}, { list, events$: new Subject<TaskEvent>() }, INTERVAL).subscribe({ error: (e: unknown) => (error = e) });
    await settle();
    expect(error).toBe(boom);
  });
});

describe('ofType', () => {
  const events: TaskEvent[] = [
    { type: 'created', taskId: 'a', at: 0, taskType: 't', priority: 'normal' },
    { type: 'progress', taskId: 'a', taskType: 'work', at: 1, progress: 50, message: 'half' },
    { type: 'paused', taskId: 'a', taskType: 'work', at: 2 },
    { type: 'failed', taskId: 'a', taskType: 'work', at: 3, error: { code: 'ERR_X', message: 'x' } },
  ];

  it('keeps only the given types, in order', () => {
    const seen: string[] = [];
    of(...events).pipe(ofType('progress', 'failed')).subscribe((e) => seen.push(e.type));
    expect(seen).toEqual(['progress', 'failed']);
  });

  it('narrows the event type', () => {
    const progress$ = of(...events).pipe(ofType('progress'));
    progress$.subscribe((e) => {
      expectTypeOf(e.progress).toEqualTypeOf<number>();
      expectTypeOf(e.message).toEqualTypeOf<string | null>();
    });
    const ended$ = of(...events).pipe(ofType('completed', 'failed'));
    ended$.subscribe((e) => {
      expectTypeOf(e.type).toEqualTypeOf<'completed' | 'failed'>();
      // @ts-expect-error: neither a completed nor a failed event carries progress.
      void e.progress;
    });
  });
});
