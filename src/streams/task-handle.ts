/** What `submit` returns: a task's id and its live views, built on `observe`. */
import { distinctUntilChanged, map, type Observable } from 'rxjs';
import type { Task, TaskStatus } from '../types.js';

export interface TaskHandle<Result = unknown> {
  readonly id: string;
  /** The status now, then each change, completing once the task has finished. */
  readonly status$: Observable<TaskStatus>;
  /** Progress now, then each coalesced update (100 once completed), completing at the end. */
  readonly progress$: Observable<{ progress: number; message: string | null }>;
  /**
   * Every value the handler emits (`ctx.emit`), in order, completing when the task has
   * ended (its end stored), erroring as `result()` rejects. Not stored: values emitted
   * before the first subscription wait for it (a bounded few: the handler waits for room).
   */
  readonly output$: Observable<unknown>;
  /** The handler's return value; rejects with ERR_TASK_FAILED or ERR_TASK_CANCELLED. */
  result(): Promise<Result>;
}

/**
 * What a handle asks of its runtime: one per runtime, shared by all its handles. `Ref` is the
 * runtime's own record of the task, kept by the handle so that `result()` of a task that
 * finished a moment ago is answered from memory instead of a store read.
 */
export interface HandleSource<Ref> {
  observe(id: string): Observable<Task>;
  result(ref: Ref): Promise<unknown>;
  output(ref: Ref): Observable<unknown>;
}

/** A class, not an object literal with closures: 100k submits make 100k handles. */
class Handle<Result, Ref> implements TaskHandle<Result> {
  readonly #source: HandleSource<Ref>;
  readonly #ref: Ref;

  constructor(
    readonly id: string,
    source: HandleSource<Ref>,
    ref: Ref,
  ) {
    this.#source = source;
    this.#ref = ref;
  }

  get status$(): Observable<TaskStatus> {
    return this.#source.observe(this.id).pipe(
      map((task) => task.status),
      distinctUntilChanged(),
    );
  }

  get progress$(): Observable<{ progress: number; message: string | null }> {
    return this.#source.observe(this.id).pipe(
      map((task) => ({ progress: task.progress, message: task.progressMessage })),
      distinctUntilChanged((a, b) => a.progress === b.progress && a.message === b.message),
    );
  }

  get output$(): Observable<unknown> {
    return this.#source.output(this.#ref);
  }

  result(): Promise<Result> {
    return this.#source.result(this.#ref) as Promise<Result>;
  }
}

export function createHandle<Result, Ref>(id: string, source: HandleSource<Ref>, ref: Ref): TaskHandle<Result> {
  return new Handle<Result, Ref>(id, source, ref);
}
