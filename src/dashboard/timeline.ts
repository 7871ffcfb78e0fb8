/**
 * The events seen while a page listens, for a task's page. Bounded: the last EVENTS events
 * of any task, in one ring (the oldest is overwritten first), so a long-open dashboard holds
 * a fixed amount, and an event costs a store into an array: on a busy runtime the dashboard
 * hears of every start and end. A task's page finds its own by a scan of the ring.
 */
import type { TaskEvent } from '../types.js';

const EVENTS = 10_000;
/** A task's page shows its last this many. */
const EVENTS_PER_TASK = 50;

export class Timeline {
  private readonly ring: (TaskEvent | undefined)[] = new Array<TaskEvent | undefined>(EVENTS).fill(undefined);
  private next = 0;
  /** Where the last event of a task sits when it is a progress event: a run of them collapses into its last. */
  private readonly lastProgress = new Map<string, number>();

  add(event: TaskEvent): void {
    const { ring } = this;
    if (event.type === 'progress') {
      const at = this.lastProgress.get(event.taskId);
      const there = at === undefined ? undefined : ring[at];
      // The timeline tells moves: a progress right after a progress of the same task replaces it.
      if (there !== undefined && there.type === 'progress' && there.taskId === event.taskId) {
        ring[at!] = event;
        return;
      }
      this.lastProgress.set(event.taskId, this.next);
    } else if (this.lastProgress.size > 0) this.lastProgress.delete(event.taskId);
    ring[this.next] = event;
    this.next = (this.next + 1) % EVENTS;
  }

  of(taskId: string): readonly TaskEvent[] {
    const events: TaskEvent[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const event = this.ring[(this.next + i) % EVENTS];
      if (event !== undefined && event.taskId === taskId) events.push(event);
    }
    return events.length > EVENTS_PER_TASK ? events.slice(-EVENTS_PER_TASK) : events;
  }
}
