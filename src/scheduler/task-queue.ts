/**
 * The heap of waiting tasks: highest priority first, then turn (round-robin across groups,
 * see ./fair-turns.ts), then submit order (a binary heap does not keep FIFO among equals by
 * itself, so the sequence number breaks ties).
 *
 * Removal is lazy: a task paused or cancelled while waiting stays in the heap until it
 * reaches the top and is skipped there. heap-js's remove() is O(n), which a million
 * queued tasks cannot afford; a skipped entry costs one comparison.
 */
import { Heap } from 'heap-js';

export interface Queueable {
  rank: number;
  /** Its place in its group's round-robin (FairTurns); fixed for the task's life. */
  turn: number;
  seq: number;
  /** Bumped on every push, so an entry left over from an earlier push is recognised. */
  queueVersion: number;
  /** Whether the task still wants to be dispatched. */
  readonly waiting: boolean;
}

/** The rank is copied in: a task's rank can change (setPriority, aging) while an older entry of it still sits in the heap, and a heap whose keys change under it is no heap. */
interface Entry<T> {
  task: T;
  version: number;
  rank: number;
  turn: number;
  seq: number;
}

export class TaskQueue<T extends Queueable> {
  private readonly heap = new Heap<Entry<T>>((a, b) => b.rank - a.rank || a.turn - b.turn || a.seq - b.seq);

  push(task: T): void {
    task.queueVersion++;
    // add(), not push(...elements): push copies its arguments into a fresh array every call.
    this.heap.add({ task, version: task.queueVersion, rank: task.rank, turn: task.turn, seq: task.seq });
  }

  /** The next task to dispatch, without taking it. */
  peek(): T | undefined {
    this.dropStale();
    return this.heap.peek()?.task;
  }

  pop(): T | undefined {
    this.dropStale();
    return this.heap.pop()?.task;
  }

  /** Entries held, stale ones included. */
  get size(): number {
    return this.heap.size();
  }

  private dropStale(): void {
    let top = this.heap.peek();
    while (top !== undefined && (!top.task.waiting || top.version !== top.task.queueVersion)) {
      this.heap.pop();
      top = this.heap.peek();
    }
  }
}
