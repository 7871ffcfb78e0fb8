/**
 * The worker side of a task's span: a handler runs with its run's span (started on the host,
 * src/telemetry/task-spans.ts, and sent as a traceparent) as the active span context, so the
 * spans it starts are children of the task's span, in the submitter's trace.
 *
 * A worker thread has OpenTelemetry globals of its own: a span started here is recorded only
 * if the handlers module (or a module it imports) registers a tracer provider and a context
 * manager in the thread. Without them, or without `@opentelemetry/api`, the handler simply runs.
 */
import { loadTraceApi, type TraceApi } from './trace-api.js';
import { parseTraceparent } from './traceparent.js';

let api: TraceApi | undefined;

/** Settles once the API is loaded or known to be absent; the thread takes calls after it. */
export const handlerTraceReady: Promise<void> = loadTraceApi().then((loaded) => {
  api = loaded;
});

/** Calls `fn` with the span a traceparent names as the active one (or just calls it). */
export function runInSpanContext<T>(traceparent: string, fn: () => T): T {
  if (api === undefined) return fn();
  const parent = parseTraceparent(traceparent);
  if (parent === undefined) return fn();
  const { context, trace } = api;
  return context.with(trace.setSpanContext(context.active(), parent), fn);
}
