/**
 * The worker side of a task's span: a handler runs with its run's span (started on the host,
 * src/telemetry/task-spans.ts, and sent as a traceparent) as the active span context, so the
 * spans it starts are children of the task's span, in the submitter's trace.
 *
 * A worker thread has OpenTelemetry globals of its own: a span started here is recorded only
 * if the handlers module (or a module it imports) registers a tracer provider and a context
 * manager in the thread. Without them, or without `@opentelemetry/api`, the handler simply runs.
 *
 * The API is imported by the first traced task of a thread, not as the thread starts:
 * importing it took 60-80 ms per thread on a busy 2-core machine, and a thread that is never
 * sent a traced task (no tracer provider on the host, `tracing: false`, the API installed
 * only as some other package's dependency) should not start later for it.
 */
import { loadTraceApi, type TraceApi } from './trace-api.js';
import { parseTraceparent } from './traceparent.js';

let api: TraceApi | undefined;
let loading: Promise<void> | undefined;
let loaded = false;

/**
 * Undefined once the API is loaded, or known to be absent; else the promise of that, which a
 * traced task awaits before its handler is called (once per thread).
 */
export function traceApiLoading(): Promise<void> | undefined {
  if (loaded) return undefined;
  return (loading ??= loadTraceApi().then((found) => {
    api = found;
    loaded = true;
  }));
}

/** Calls `fn` with the span a traceparent names as the active one (or just calls it). */
export function runInSpanContext<T>(traceparent: string, fn: () => T): T {
  if (api === undefined) return fn();
  const parent = parseTraceparent(traceparent);
  if (parent === undefined) return fn();
  const { context, trace } = api;
  return context.with(trace.setSpanContext(context.active(), parent), fn);
}
