/**
 * Things due at a time (a retry's delay, a run's deadline) behind one timer, armed for the
 * earliest: never an interval, never a timer per task.
 *
 * Removal is lazy, as in the task heap: an entry carries the token its item had when it
 * was added, and an item that has moved on (re-added, finished) no longer matches it.
 */
import { Heap } from 'heap-js';

interface Entry<T> {
  at: number;
  item: T;
  token: number;
}

/** setTimeout cannot wait longer than this; a later entry is re-checked when it fires. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

export class TimerQueue<T> {
  private readonly heap = new Heap<Entry<T>>((a, b) => a.at - b.at);
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    /** Called for each entry whose time has come and whose item still has its token. */
    private readonly onDue: (item: T) => void,
    private readonly tokenOf: (item: T) => number,
  ) {}

  add(item: T, at: number, token: number): void {
    this.heap.push({ at, item, token });
    if (at < this.timerAt) this.arm();
  }

  /** Stops the timer; nothing fires after this. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.heap.clear();
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    let top = this.heap.peek();
    while (top !== undefined && top.token !== this.tokenOf(top.item)) {
      this.heap.pop();
      top = this.heap.peek();
    }
    if (top === undefined) return;
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.fire(), Math.min(LONGEST_WAIT_MS, Math.max(0, top.at - Date.now())));
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (top.token === this.tokenOf(top.item)) this.onDue(top.item);
    }
    this.arm();
  }
}
