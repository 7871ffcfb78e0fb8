/**
 * One OpenTelemetry span per run of a task, on the host: `offthread.task <type>`, from the
 * moment the run is sent to a thread to the moment it ends (or never starts: taken back,
 * held, requeued), a child of the span that was active when the task was submitted. The
 * state owner (src/scheduler/task-states.ts) tells it when a run begins and ends; the
 * dispatcher sends the span's traceparent with the task, so the spans a handler starts in
 * its thread nest under it (./handler-trace.ts).
 *
 * Tracing costs nothing while no tracer provider is registered: every entry point first
 * asks the API's global provider for its delegate, which is the API's own no-op provider
 * until an app registers one (a property read and a comparison), and does nothing more.
 * Without `@opentelemetry/api` installed, or with `tracing: false`, no TaskSpans exists.
 *
 * No OpenTelemetry type appears in what this module exports: the declarations of the
 * package must not need `@opentelemetry/api`, which apps may not have.
 */
import type { Attributes, Context, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { LiveTask } from '../scheduler/live-task.js';
import type { TaskError } from '../types.js';
import { loadTraceApi, type TraceApi } from './trace-api.js';
import { formatTraceparent } from './traceparent.js';

/** The instrumentation scope of the spans. */
const TRACER_NAME = 'offthread';

/** The attributes of a task's span (the span's status attribute is set at its end). */
export const SPAN_ATTRIBUTES = {
  id: 'offthread.task.id',
  type: 'offthread.task.type',
  priority: 'offthread.task.priority',
  attempt: 'offthread.task.attempt',
  status: 'offthread.task.status',
} as const;

/**
 * What became of the task when its run's span ended: how it finished, `retrying` (the run
 * failed and the task waits for another attempt), `paused` or `queued` (it never started:
 * paused, taken back, or its thread went away before it began), or `interrupted` (the
 * runtime closed while it ran; it runs again after the next open).
 */
export type RunStatus = 'completed' | 'failed' | 'cancelled' | 'retrying' | 'paused' | 'queued' | 'interrupted';

type ProviderWithDelegate = TracerProvider & { getDelegate?(): TracerProvider };

export class TaskSpans {
  readonly #api: TraceApi;
  /** The API's no-op provider, which the global provider delegates to until one is registered. */
  readonly #noop: TracerProvider;
  /** The provider `#current` came from: a new one (registered again) gets a new tracer. */
  #provider: TracerProvider | undefined;
  #current: Tracer | undefined;
  /** The spans of runs under way, ended at close if their run has not. */
  readonly #runs = new Map<LiveTask, Span>();

  private constructor(api: TraceApi) {
    this.#api = api;
    this.#noop = new api.ProxyTracerProvider().getDelegate();
  }

  /** Spans for a runtime, or undefined: tracing is off, or `@opentelemetry/api` is not installed. */
  static async open(enabled: boolean): Promise<TaskSpans | undefined> {
    if (!enabled) return undefined;
    const api = await loadTraceApi();
    return api === undefined ? undefined : new TaskSpans(api);
  }

  /**
   * The tracer of the registered provider, or undefined while none is. Asked each time, not
   * once: an app may register its provider after open, or replace it (`trace.disable()`
   * then a new one).
   */
  #tracer(): Tracer | undefined {
    const global = this.#api.trace.getTracerProvider() as ProviderWithDelegate;
    // The API's global is a proxy; one made by another copy of the API is used as it is.
    const provider = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
    if (provider === this.#noop) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#current = provider.getTracer(TRACER_NAME);
    }
    return this.#current;
  }

  /**
   * A task is submitted: the caller's active context is kept on it (in memory only), so each
   * of its runs is a child of the caller's span. Kept only when it holds a span.
   */
  capture(task: LiveTask): void {
    if (this.#tracer() === undefined) return;
    const { context, trace } = this.#api;
    const active = context.active();
    if (trace.getSpanContext(active) !== undefined) task.traceContext = active;
  }

  /**
   * A run begins: the task is sent to a thread. Starts its span and answers the traceparent
   * its thread gets, or undefined while nothing is traced.
   */
  begin(task: LiveTask, at: number): string | undefined {
    const tracer = this.#tracer();
    if (tracer === undefined) return undefined;
    this.#runs.get(task)?.end(at); // never left open by a run before (see end)
    const attributes: Attributes = {
      [SPAN_ATTRIBUTES.id]: task.id,
      [SPAN_ATTRIBUTES.type]: task.type,
      [SPAN_ATTRIBUTES.priority]: task.priority,
      [SPAN_ATTRIBUTES.attempt]: task.attempts + 1,
    };
    // A task without a caller's span (recovered at open, claimed from a shared queue, or
    // submitted outside any span) starts a trace of its own, not one of whatever context
    // happens to be active where the dispatcher runs.
    const parent = (task.traceContext as Context | undefined) ?? this.#api.ROOT_CONTEXT;
    const span = tracer.startSpan(`offthread.task ${task.type}`, { startTime: at, attributes }, parent);
    this.#runs.set(task, span);
    return formatTraceparent(span.spanContext());
  }

  /** Something happened during the run (paused or resumed at a checkpoint). */
  event(task: LiveTask, name: string, at: number): void {
    if (this.#runs.size === 0) return;
    this.#runs.get(task)?.addEvent(name, at);
  }

  /**
   * A run has ended, and the state owner has made its move: the task's state says what came
   * of it. `ran`: its handler was called, so a task queued again waits for a retry (one
   * that never started was taken back or lost its thread first). A failed run's span
   * records the error and has status ERROR.
   */
  end(task: LiveTask, ran: boolean, at = Date.now()): void {
    if (this.#runs.size === 0) return;
    const span = this.#runs.get(task);
    if (span === undefined) return;
    this.#runs.delete(task);
    const ending = task.ending;
    const status: RunStatus = ending?.status ?? (task.phase === 'held' ? 'paused' : ran ? 'retrying' : 'queued');
    span.setAttribute(SPAN_ATTRIBUTES.status, status);
    const error = status === 'failed' ? ending!.error : status === 'retrying' ? task.lastError : null;
    if (error !== null) this.#recordError(span, error, at);
    span.end(at);
  }

  #recordError(span: Span, error: TaskError, at: number): void {
    span.recordException({ name: error.code, code: error.code, message: error.message, stack: error.stack }, at);
    span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
  }

  /** The runtime stops: the runs still under way end here (the tasks run again after the next open). */
  close(): void {
    const at = Date.now();
    for (const span of this.#runs.values()) {
      span.setAttribute(SPAN_ATTRIBUTES.status, 'interrupted' satisfies RunStatus);
      span.end(at);
    }
    this.#runs.clear();
  }
}
