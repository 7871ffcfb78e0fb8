/**
 * Batch handlers (defineBatchTask), host side: the tasks of a batch type are collected,
 * per type, into calls of up to `maxBatch`; a call goes when it is full, or `maxWaitMs`
 * after its first task was collected (at once for 0), to the next free thread. Collected
 * tasks are out of the heap but still `queued`: one paused, cancelled or re-queued
 * meanwhile (its queue version moved on) is left out when the call goes. At most one
 * call's worth is collected ahead per type, so a task of a batch type waits behind at most
 * `maxBatch` of its own kind.
 */
import type { LiveTask } from './live-task.js';

export interface BatchShape {
  maxBatch: number;
  maxWaitMs: number;
}

interface Collector {
  items: Array<{ task: LiveTask; version: number }>;
  /** Its first task has waited maxWaitMs (or the type waits for nothing): it goes as it is. */
  waited: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class BatchCollectors {
  readonly #shapes: ReadonlyMap<string, BatchShape>;
  readonly #collectors = new Map<string, Collector>();
  /** A batch became due on its timer: the dispatcher should look. */
  readonly #wake: () => void;

  constructor(shapes: ReadonlyMap<string, BatchShape>, wake: () => void) {
    this.#shapes = shapes;
    this.#wake = wake;
  }

  /** Whether the type's tasks go through a batch handler. */
  batches(type: string): boolean {
    return this.#shapes.size > 0 && this.#shapes.has(type);
  }

  /** Whether the type's next call is full already (then its task waits in the heap). */
  full(type: string): boolean {
    const collector = this.#collectors.get(type);
    if (collector === undefined) return false;
    const { maxBatch } = this.#shapes.get(type)!;
    // Pruned only when it looks full: asked once per task collected, it must stay O(1).
    if (collector.items.length < maxBatch) return false;
    collector.items = collector.items.filter(still);
    return collector.items.length >= maxBatch;
  }

  add(task: LiveTask): void {
    const shape = this.#shapes.get(task.type)!;
    let collector = this.#collectors.get(task.type);
    if (collector === undefined) this.#collectors.set(task.type, (collector = { items: [], waited: shape.maxWaitMs === 0, timer: undefined }));
    collector.items.push({ task, version: task.queueVersion });
    if (collector.waited || collector.timer !== undefined) return;
    const waiting = collector;
    waiting.timer = setTimeout(() => {
      waiting.timer = undefined;
      waiting.waited = true;
      this.#wake();
    }, shape.maxWaitMs);
  }

  /** The type's tasks collected for its next call and not sent yet (counted against its limits by the dispatcher). */
  pending(type: string): LiveTask[] {
    const collector = this.#collectors.get(type);
    return collector === undefined ? [] : collector.items.filter(still).map(({ task }) => task);
  }

  /** A call's worth of a due batch, its tasks still waiting (those that are not left out), or undefined. */
  takeDue(): LiveTask[] | undefined {
    if (this.#collectors.size === 0) return undefined;
    for (const [type, collector] of this.#collectors) {
      const { maxBatch } = this.#shapes.get(type)!;
      collector.items = collector.items.filter(still);
      if (!collector.waited && collector.items.length < maxBatch) continue;
      const call = collector.items.slice(0, maxBatch).map(({ task }) => task);
      // What is left has waited as long: it goes with the next free thread.
      collector.items = collector.items.slice(call.length);
      if (collector.items.length === 0) {
        clearTimeout(collector.timer);
        this.#collectors.delete(type);
      }
      if (call.length > 0) return call;
    }
    return undefined;
  }

  /** Tasks collected and not yet sent. */
  get collected(): number {
    let n = 0;
    for (const collector of this.#collectors.values()) n += collector.items.length;
    return n;
  }

  close(): void {
    for (const collector of this.#collectors.values()) clearTimeout(collector.timer);
    this.#collectors.clear();
  }
}

/** Still waiting as it was collected: not paused, cancelled or queued again since. */
function still({ task, version }: { task: LiveTask; version: number }): boolean {
  return task.waiting && task.queueVersion === version;
}
