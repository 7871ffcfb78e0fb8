/**
 * At most one progress update per task per interval reaches the listeners: the first of a
 * burst at once, the last one when its interval is up (or when the task ends, see
 * `flush`). One timer serves every task, armed only while something is pending.
 */
import type { ProgressReport } from '../workers/protocol.js';

export class ProgressCoalescer {
  private readonly lastEmitted = new Map<string, number>();
  private readonly pending = new Map<string, ProgressReport>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (taskId: string, report: ProgressReport) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(taskId: string, report: ProgressReport): void {
    const now = this.now();
    const last = this.lastEmitted.get(taskId);
    if (last === undefined || now - last >= this.intervalMs) {
      this.pending.delete(taskId);
      this.lastEmitted.set(taskId, now);
      this.emit(taskId, report);
      return;
    }
    this.pending.set(taskId, report);
    this.arm(this.intervalMs - (now - last));
  }

  /** Emits the task's pending update now, and forgets the task. */
  flush(taskId: string): void {
    const report = this.pending.get(taskId);
    this.pending.delete(taskId);
    this.lastEmitted.delete(taskId);
    if (report !== undefined) this.emit(taskId, report);
  }

  close(): void {
    for (const taskId of [...this.pending.keys()]) this.flush(taskId);
    this.lastEmitted.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [taskId, report] of this.pending) {
      const due = (this.lastEmitted.get(taskId) ?? 0) + this.intervalMs;
      if (due <= now) {
        this.pending.delete(taskId);
        this.lastEmitted.set(taskId, now);
        this.emit(taskId, report);
      } else {
        nextDue = Math.min(nextDue, due);
      }
    }
    if (this.pending.size > 0) this.arm(nextDue - now);
  }
}
