/**
 * OpenTelemetry spans, with the real SDK on both sides: the host's provider (registered by
 * each test, and shut down after it) records the task spans; the handlers module registers a
 * provider of its own in each worker thread, and its handlers return the spans they made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { context, propagation, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import type { TaskHandle, TaskRuntime } from 'offthread';
import { Gates, nextEvent, openRuntime, tempDatabase } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';

const TRACED = new URL('../fixtures/traced-handlers.js', import.meta.url);

interface HandlerReport {
  payload: unknown;
  activeAtStart: { traceId: string; spanId: string } | null;
  handlerSpan: { traceId: string; spanId: string; parentSpanId: string | null } | undefined;
}

let provider: NodeTracerProvider | undefined;
let exporter: InMemorySpanExporter;

/** Registers the host's tracer provider (and the AsyncLocalStorage context manager) for this test. */
function startTracing(): void {
  // One exporter per provider: shutting a provider down stops its exporter for good.
  exporter = new InMemorySpanExporter();
  provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
}

afterEach(async () => {
  await provider?.shutdown();
  provider = undefined;
  trace.disable();
  context.disable();
  propagation.disable();
});

/** Submits inside a span of the test's own, ended once submit() resolves. */
async function submitInSpan(rt: TaskRuntime, type: string, payload: unknown, options?: object): Promise<{ handle: TaskHandle; parent: Span }> {
  const parent = trace.getTracer('test').startSpan('submitting');
  const handle = await context.with(trace.setSpan(context.active(), parent), () => rt.submit(type, payload, options));
  parent.end();
  return { handle, parent };
}

async function taskSpans(type: string): Promise<ReadableSpan[]> {
  await provider!.forceFlush();
  return exporter.getFinishedSpans().filter((span) => span.name === `offthread.task ${type}`);
}

describe('OpenTelemetry spans', () => {
  it('a run is a span with the task’s attributes, a child of the span active at submit; the handler’s spans nest under it', async () => {
    startTracing();
    const rt = await openRuntime({ handlers: TRACED, concurrency: 1 });
    const { handle, parent } = await submitInSpan(rt, 'traced', 'hello', { priority: 'high' });
    const report = (await handle.result()) as HandlerReport;
    expect(report.payload).toBe('hello');

    const [span, ...others] = await taskSpans('traced');
    expect(others).toHaveLength(0);
    expect(span!.attributes).toEqual({
      'offthread.task.id': handle.id,
      'offthread.task.type': 'traced',
      'offthread.task.priority': 'high',
      'offthread.task.attempt': 1,
      'offthread.task.status': 'completed',
    });
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(span!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);

    // In the worker: the handler begins in the task span's context, and a span it starts
    // after an await is recorded by its thread's provider as the task span's child.
    expect(report.activeAtStart).toEqual({ traceId: parent.spanContext().traceId, spanId: span!.spanContext().spanId });
    expect(report.handlerSpan).toEqual({
      traceId: parent.spanContext().traceId,
      spanId: expect.any(String),
      parentSpanId: span!.spanContext().spanId,
    });
    await rt.close();
  });

  it('a failed run’s span records the error and has status ERROR; a retry is a span of its own', async () => {
    startTracing();
    const rt = await openRuntime({ handlers: TRACED, concurrency: 1 });
    const { handle, parent } = await submitInSpan(rt, 'gaveUp', null, { retries: 1 });
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', taskError: { code: 'ERR_GAVE_UP' } });

    const spans = await taskSpans('gaveUp');
    expect(spans.map((s) => [s.attributes['offthread.task.attempt'], s.attributes['offthread.task.status']])).toEqual([
      [1, 'retrying'],
      [2, 'failed'],
    ]);
    for (const span of spans) {
      expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'ERR_GAVE_UP: the handler gave up' });
      const exception = span.events.find((e) => e.name === 'exception');
      expect(exception?.attributes).toMatchObject({ 'exception.type': 'ERR_GAVE_UP', 'exception.message': 'the handler gave up' });
      expect(exception?.attributes?.['exception.stacktrace']).toContain('the handler gave up');
    }
    await rt.close();
  });

  it('a cancelled run’s span says so, without an error', async () => {
    startTracing();
    const gates = new Gates();
    const rt = await openRuntime({ handlers: TRACED, concurrency: 1, services: gates.services });
    const { handle } = await submitInSpan(rt, 'untilCancelled', null);
    await gates.reached('running');
    await rt.cancel(handle.id);
    await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });

    const [span] = await taskSpans('untilCancelled');
    expect(span!.attributes['offthread.task.status']).toBe('cancelled');
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.events.some((e) => e.name === 'exception')).toBe(false);
    await rt.close();
  });

  it('a run taken back before its thread began it ends `paused`; the task’s next run is a span of its own', async () => {
    startTracing();
    const gates = new Gates();
    const rt = await openRuntime({ handlers: TRACED, concurrency: 1, services: gates.services });
    await (await rt.submit('quick', null)).result();
    const blocker = await rt.submit('untilCancelled', null);
    await gates.reached('running');
    // Known to be short, it is sent ahead to the busy thread, and waits there behind the blocker.
    const { handle, parent } = await submitInSpan(rt, 'quick', null);
    await rt.pause(handle.id);
    await rt.cancel(blocker.id);
    await rt.resume(handle.id);
    expect(await handle.result()).toBe('quick');

    const runs = (await taskSpans('quick')).filter((s) => s.attributes['offthread.task.id'] === handle.id);
    expect(runs.map((s) => [s.attributes['offthread.task.status'], s.attributes['offthread.task.attempt']])).toEqual([
      ['paused', 1],
      ['completed', 1],
    ]);
    for (const span of runs) {
      expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    await rt.close();
  });

  it('a run cut short by close is `interrupted`; recovered at the next open, a task’s runs have no parent', async () => {
    startTracing();
    const database = tempDatabase();
    const gates = new Gates();
    const first = await openRuntime({ handlers: TRACED, database, concurrency: 1, services: gates.services });
    const blocker = await first.submit('untilCancelled', null);
    await gates.reached('running');
    const { handle } = await submitInSpan(first, 'traced', 'after a restart');
    await first.pause(handle.id);
    await first.close({ graceful: false });
    const [interrupted] = await taskSpans('untilCancelled');
    expect(interrupted!.attributes).toMatchObject({ 'offthread.task.id': blocker.id, 'offthread.task.status': 'interrupted' });

    // The submitter's context lived in memory only: the reopened host traces the run on its own.
    const second = await openRuntime({ handlers: TRACED, database, concurrency: 2, services: new Gates().services });
    const done = nextEvent(second.events$, 'completed', handle.id);
    await second.resume(handle.id);
    const report = (await done).result as HandlerReport;
    const span = (await taskSpans('traced')).find((s) => s.attributes['offthread.task.status'] === 'completed');
    expect(span!.attributes['offthread.task.id']).toBe(handle.id);
    expect(span!.parentSpanContext).toBeUndefined();
    expect(report.handlerSpan?.parentSpanId).toBe(span!.spanContext().spanId);
    await second.close({ graceful: false });
  });

  it('on PostgreSQL a run is a span too, with no parent: the submitter’s context is not stored', async () => {
    startTracing();
    const database = await freshDatabase();
    const rt = await openRuntime({ handlers: TRACED, database, concurrency: 1 });
    const { handle } = await submitInSpan(rt, 'traced', 'shared');
    const report = (await handle.result()) as HandlerReport;
    const [span] = await taskSpans('traced');
    expect(span!.attributes).toMatchObject({ 'offthread.task.id': handle.id, 'offthread.task.status': 'completed' });
    expect(span!.parentSpanContext).toBeUndefined();
    expect(report.handlerSpan?.parentSpanId).toBe(span!.spanContext().spanId);
    await rt.close();
  });

  it('without a tracer provider nothing is traced, and one registered after open is used from then on', async () => {
    const rt = await openRuntime({ handlers: TRACED, concurrency: 1 });
    const untraced = (await (await rt.submit('traced', 'untraced')).result()) as HandlerReport;
    // The handler got no span context: its own span starts a trace of its own.
    expect(untraced.activeAtStart).toBeNull();
    expect(untraced.handlerSpan?.parentSpanId).toBeNull();

    startTracing();
    const { handle, parent } = await submitInSpan(rt, 'traced', 'traced');
    const traced = (await handle.result()) as HandlerReport;
    const spans = await taskSpans('traced');
    expect(spans.map((s) => s.attributes['offthread.task.id'])).toEqual([handle.id]);
    expect(traced.handlerSpan?.traceId).toBe(parent.spanContext().traceId);
    await rt.close();
  });

  it('tracing: false makes no spans and sends the handler no span context, with a provider registered', async () => {
    startTracing();
    const rt = await openRuntime({ handlers: TRACED, concurrency: 1, tracing: false });
    const { handle } = await submitInSpan(rt, 'traced', null);
    const report = (await handle.result()) as HandlerReport;
    expect(await taskSpans('traced')).toEqual([]);
    expect(report.activeAtStart).toBeNull();
    expect(report.handlerSpan?.parentSpanId).toBeNull();
    await rt.close();
  });

  it('rejects a tracing option that is not a boolean', async () => {
    await expect(openRuntime({ handlers: TRACED, tracing: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'tracing' });
  });
});

