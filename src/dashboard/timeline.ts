/**
 * The events seen while the dashboard is open, per task, for a task's page. Bounded: the
 * last EVENTS_PER_TASK events of the last TASKS tasks that had one (the oldest task is
 * forgotten first), so a long-open dashboard holds a fixed amount.
 */
import type { TaskEvent } from '../types.js';

const TASKS = 1000;
const EVENTS_PER_TASK = 50;

export class Timeline {
  private readonly byTask = new Map<string, TaskEvent[]>();

  add(event: TaskEvent): void {
    let events = this.byTask.get(event.taskId);
    if (events === undefined) {
      if (this.byTask.size >= TASKS) this.byTask.delete(this.byTask.keys().next().value!);
      events = [];
      this.byTask.set(event.taskId, events);
    }
    // Runs of progress events collapse into their last one: the timeline tells moves.
    const last = events[events.length - 1];
    if (event.type === 'progress' && last?.type === 'progress') events[events.length - 1] = event;
    else {
      events.push(event);
      if (events.length > EVENTS_PER_TASK) events.shift();
    }
  }

  of(taskId: string): readonly TaskEvent[] {
    return this.byTask.get(taskId) ?? [];
  }
}
