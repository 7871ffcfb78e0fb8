/**
 * Per-type concurrency caps (defineTask's `concurrency`). A task whose type is at its cap
 * is parked, in its own heap so it keeps its place, and goes back to the main heap when a
 * task of its type ends: the main heap never has to skip over it again and again.
 */
import type { LiveTask } from './live-task.js';
import { TaskQueue } from './task-queue.js';

export class TypeLimits {
  private readonly inFlight = new Map<string, number>();
  private readonly parked = new Map<string, TaskQueue<LiveTask>>();

  constructor(private readonly caps: ReadonlyMap<string, number>) {}

  /** Whether one more task of this type may be sent, given `extra` already in the batch being built. */
  allows(type: string, extra = 0): boolean {
    const cap = this.caps.get(type);
    return cap === undefined || (this.inFlight.get(type) ?? 0) + extra < cap;
  }

  get limited(): boolean {
    return this.caps.size > 0;
  }

  park(task: LiveTask): void {
    let queue = this.parked.get(task.type);
    if (queue === undefined) this.parked.set(task.type, (queue = new TaskQueue()));
    queue.push(task);
  }

  sent(task: LiveTask): void {
    if (this.caps.has(task.type)) this.inFlight.set(task.type, (this.inFlight.get(task.type) ?? 0) + 1);
  }

  /** A task of this type left its call: returns the parked task that may go now, if any. */
  ended(task: LiveTask): LiveTask | undefined {
    const n = this.inFlight.get(task.type);
    if (n === undefined) return undefined;
    this.inFlight.set(task.type, n - 1);
    return this.parked.get(task.type)?.pop();
  }
}
