/**
 * A span's identity as a W3C `traceparent` (https://www.w3.org/TR/trace-context/), the form
 * a task's run span travels in to its worker thread (TaskRequest.traceparent): a short
 * string clones cheaply, and it is what any tracer understands. Tracestate is not carried.
 */
import type { SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The remote span context a traceparent names, or undefined if it is not a valid one. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const match = TRACEPARENT.exec(value);
  if (match === null || ZEROS.test(match[1]!) || ZEROS.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
}
