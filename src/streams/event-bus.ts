/**
 * Where task events go. One private Subject for everything plus one per task that someone
 * is watching, so a handle's observables cost O(1) per event, not a filter over every event.
 * Only Observables leave this file, never the Subjects.
 */
import { Observable, Subject } from 'rxjs';
import type { TaskEvent } from '../types.js';

export class EventBus {
  private readonly all = new Subject<TaskEvent>();
  private readonly perTask = new Map<string, Subject<TaskEvent>>();

  readonly events$: Observable<TaskEvent> = this.all.asObservable();

  /** Whether anyone listens: callers skip building events nobody will see. */
  get observed(): boolean {
    return this.all.observed || this.perTask.size > 0;
  }

  emit(event: TaskEvent): void {
    this.all.next(event);
    this.perTask.get(event.taskId)?.next(event);
  }

  /** Events of one task, for as long as the subscriber stays. */
  forTask(taskId: string): Observable<TaskEvent> {
    return new Observable<TaskEvent>((subscriber) => {
      let subject = this.perTask.get(taskId);
      if (subject === undefined) {
        subject = new Subject<TaskEvent>();
        this.perTask.set(taskId, subject);
      }
      const subscription = subject.subscribe(subscriber);
      const owned = subject;
      return () => {
        subscription.unsubscribe();
        if (!owned.observed && this.perTask.get(taskId) === owned) this.perTask.delete(taskId);
      };
    });
  }

  /** The runtime closed: every stream completes. */
  complete(): void {
    for (const subject of this.perTask.values()) subject.complete();
    this.perTask.clear();
    this.all.complete();
  }
}
