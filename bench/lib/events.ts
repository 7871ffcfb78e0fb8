/** Waits for a task's events without racing its submit: subscribe first, ask by id later. */
import { performance } from 'node:perf_hooks';
import type { TaskEvent, TaskRuntime } from 'offthread';

export interface EventWaiter {
  /** Resolves with performance.now() at the moment the event arrived (or already had). */
  when(taskId: string, type: TaskEvent['type']): Promise<number>;
  stop(): void;
}

export function eventWaiter(rt: TaskRuntime, types: ReadonlyArray<TaskEvent['type']>): EventWaiter {
  const seen = new Map<string, { promise: Promise<number>; resolve(at: number): void }>();
  const entry = (key: string) => {
    let e = seen.get(key);
    if (!e) {
      let resolve!: (at: number) => void;
      const promise = new Promise<number>((r) => (resolve = r));
      seen.set(key, (e = { promise, resolve }));
    }
    return e;
  };
  const sub = rt.events$.subscribe((event) => {
    if (types.includes(event.type)) entry(`${event.taskId} ${event.type}`).resolve(performance.now());
  });
  return { when: (id, type) => entry(`${id} ${type}`).promise, stop: () => sub.unsubscribe() };
}
