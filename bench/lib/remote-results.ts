/**
 * Awaits tasks' results on a host of a shared queue where other hosts may have run them.
 * Their results reach this host through the queue's events; should they not (a store whose
 * feed does not carry events between hosts), result() would wait forever while the rows say
 * the tasks ended. So a watchdog reads one task still awaited every half second, and fails
 * the wait with that reason once its row has shown it finished for longer than `graceMs`.
 */
import type { TaskHandle, TaskRuntime } from 'offthread';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

export async function resultsOf<T = unknown>(runtime: TaskRuntime, handles: ReadonlyArray<TaskHandle>, graceMs = 3_000): Promise<T[]> {
  const pending = new Set(handles.map((h) => h.id));
  const all = Promise.all(
    handles.map(async (h) => {
      const result = (await h.result()) as T;
      pending.delete(h.id);
      return result;
    }),
  );
  let done = false;
  const watchdog = (async (): Promise<never> => {
    let stuck: { id: string; since: number } | undefined;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500).unref());
      if (done) return new Promise<never>(() => undefined);
      const id = stuck && pending.has(stuck.id) ? stuck.id : pending.values().next().value;
      if (id === undefined) continue;
      if (stuck?.id !== id) stuck = undefined;
      const task = await runtime.get(id);
      if (!task || !FINISHED.has(task.status)) continue;
      stuck ??= { id, since: Date.now() };
      if (Date.now() - stuck.since > graceMs) {
        throw new Error(`results of tasks run by another host do not reach this one (task ${id.slice(0, 8)}: ${task.status} in the store, no result here after ${graceMs / 1000} s)`);
      }
    }
  })();
  try {
    return await Promise.race([all, watchdog]);
  } finally {
    done = true;
  }
}
