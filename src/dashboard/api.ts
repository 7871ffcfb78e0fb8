/**
 * The JSON API the pages use, and scripts may (docs/dashboard.md). Reads are GET; actions
 * are POST, refused on a read-only source and checked against cross-site requests first.
 */
import { PRIORITIES, TASK_STATUSES, FINISHED_STATUSES, type Priority, type Task, type TaskStats, type TaskStatus } from '../types.js';
import type { Guard } from './auth.js';
import { readJson, sendError, sendFailure, sendJson } from './http-io.js';
import { jsonText } from './json-text.js';
import { METRICS_CONTENT_TYPE, metricsText } from '../streams/metrics-text.js';
import { readPage, SCAN_LIMIT } from './pager.js';
import type { RouteContext, Router } from './router.js';
import type { BulkAction, DashboardSource } from './source.js';
import type { SseHub } from './sse.js';
import type { Timeline } from './timeline.js';
import type { Throughput } from './throughput.js';

const RUNNING_SHOWN = 50;
/** How long the overview's counts are shared by re-reads (see countsNow in addApiRoutes). */
const COUNTS_FRESH_MS = 1000;
/** ...or this many times as long as the count took, if longer (45 ms at a million tasks: 2.25 s). */
const COUNTS_SHARE = 50;
const PARENTS_SHOWN = 50;
/** Children are found among this many newest tasks (the store has no index of them). */
const CHILD_SCAN = 1000;
const PAGE_DEFAULT = 50;
const PAGE_MAX = 500;

export interface ApiParts {
  source: DashboardSource;
  guard: Guard;
  hub: SseHub;
  timeline: Timeline | null;
  throughput: Throughput;
}

/** A task in a list: no payload, result or long text. */
function summary(task: Task) {
  return {
    id: task.id,
    type: task.type,
    name: task.name,
    priority: task.priority,
    status: task.status,
    progress: task.progress,
    progressMessage: task.progressMessage,
    attempts: task.attempts,
    createdAt: task.createdAt,
    startedAt: task.startedAt,
    completedAt: task.completedAt,
    updatedAt: task.updatedAt,
    error: task.error === null ? null : { code: task.error.code, message: task.error.message },
  };
}

/** The actions the page offers for a task in its status. */
function actionsFor(task: Task, source: DashboardSource): string[] {
  const actions = source.actions;
  if (actions === null) return [];
  switch (task.status) {
    case 'queued':
      return ['cancel', 'pause', 'priority'];
    case 'running':
      return ['cancel', 'pause'];
    case 'paused':
      return ['resume', 'cancel', 'priority'];
    case 'failed':
    case 'cancelled':
      return actions.taskTypes.includes(task.type) ? ['retry'] : [];
    default:
      return [];
  }
}

function listParam<T extends string>(url: URL, name: string, allowed?: readonly T[]): T[] | undefined {
  const values = url.searchParams.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (values.length === 0) return undefined;
  if (allowed !== undefined) {
    const bad = values.find((v) => !allowed.includes(v as T));
    if (bad !== undefined) throw new RangeError(`"${bad}" is not a ${name}; expected ${allowed.join(', ')}.`);
  }
  return values as T[];
}

export function addApiRoutes(router: Router, parts: ApiParts): void {
  const { source, guard, hub, throughput } = parts;

  router.get('/api/info', ({ res }) =>
    sendJson(res, 200, {
      readOnly: source.actions === null,
      database: source.label,
      csrf: guard.csrf,
      taskTypes: source.actions?.taskTypes ?? [],
      threads: source.threads,
      live: source.events$ !== null,
    }),
  );

  // stats() counts every row of the store (~45 ms at a million tasks): the re-reads of one
  // second share its answer (the chart keeps its own, see Throughput), while the running
  // tasks are read fresh each time. A count that takes long is shared longer, so counting
  // takes at most 1/COUNTS_SHARE of the time. A page that re-read from the cache hears of one
  // more change once it expires, so no page is left showing old counts.
  let counted: { at: number; fresh: number; stats: TaskStats } | undefined;
  let recount: NodeJS.Timeout | undefined;
  const countsNow = async (): Promise<TaskStats> => {
    const now = Date.now();
    if (counted !== undefined && now - counted.at < counted.fresh) {
      recount ??= setTimeout(() => {
        recount = undefined;
        hub.change();
      }, counted.at + counted.fresh - now).unref();
      return counted.stats;
    }
    const stats = await source.stats();
    counted = { at: now, fresh: Math.max(COUNTS_FRESH_MS, (Date.now() - now) * COUNTS_SHARE), stats };
    return counted.stats;
  };

  router.get('/api/overview', async ({ res }) => {
    const stats = await countsNow();
    const running = await source.list({ status: 'running', limit: RUNNING_SHOWN });
    const chart = await throughput.lastHour(stats.completed + stats.failed + stats.cancelled);
    sendJson(res, 200, {
      stats,
      running: running.map(summary),
      threads: { total: source.threads, inUse: Math.min(source.threads, stats.running) },
      metrics: source.metrics(),
      throughput: chart,
    });
  });

  router.get('/api/tasks', async ({ res, url }) => {
    let query;
    try {
      const limit = Number(url.searchParams.get('limit') ?? PAGE_DEFAULT);
      if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw new RangeError(`limit: expected a whole number from 1 to ${PAGE_MAX}.`);
      const scan = Number(url.searchParams.get('scan') ?? SCAN_LIMIT);
      if (!Number.isInteger(scan) || scan < 1 || scan > SCAN_LIMIT) throw new RangeError(`scan: expected a whole number from 1 to ${SCAN_LIMIT}.`);
      query = {
        scan,
        status: listParam<TaskStatus>(url, 'status', TASK_STATUSES),
        priority: listParam<Priority>(url, 'priority', PRIORITIES),
        type: listParam<string>(url, 'type'),
        text: url.searchParams.get('q') ?? undefined,
        cursor: url.searchParams.get('cursor') ?? undefined,
        limit,
      };
    } catch (error) {
      return sendError(res, 400, 'ERR_INVALID_OPTION', (error as Error).message);
    }
    const page = await readPage(source, query);
    sendJson(res, 200, { tasks: page.tasks.map(summary), next: page.next, search: page.search });
  });

  router.get('/api/tasks/:id', async ({ res, url, params }) => {
    const task = await source.get(params.id!);
    if (task === undefined) return sendError(res, 404, 'ERR_TASK_NOT_FOUND', `No task "${params.id}".`);
    const full = url.searchParams.get('full') === '1';
    const parents = await Promise.all(
      task.dependsOn.slice(0, PARENTS_SHOWN).map(async (id) => {
        const parent = await source.get(id);
        return { id, name: parent?.name ?? null, status: parent?.status ?? null };
      }),
    );
    const children = (await source.list({ limit: CHILD_SCAN }))
      .filter((other) => other.dependsOn.includes(task.id))
      .map((child) => ({ id: child.id, name: child.name, status: child.status }));
    sendJson(res, 200, {
      task: {
        ...summary(task),
        // The task's page shows where its handler threw, too.
        error: task.error,
        description: task.description,
        runAt: task.runAt,
        timeoutMs: task.timeoutMs,
        retries: task.retries,
        backoff: task.backoff,
        key: task.key,
        dependsOn: task.dependsOn,
        onParentFailure: task.onParentFailure,
      },
      payload: jsonText(task.payload, full),
      result: task.result === null ? null : jsonText(task.result, full),
      checkpoint: 'checkpoint' in task ? jsonText(task.checkpoint, full) : null,
      events: parts.timeline?.of(task.id) ?? [],
      parents,
      children,
      childrenScanned: CHILD_SCAN,
      actions: actionsFor(task, source),
    });
  });

  router.get('/api/schedules', async ({ res }) => sendJson(res, 200, { schedules: await source.schedules() }));

  router.get('/api/stream', ({ res }) => hub.add(res));

  router.get('/metrics', async ({ res }) => {
    // A runtime's own (rt.metricsText()); a read-only view has the gauges only.
    const text = source.metricsText !== null ? await source.metricsText() : metricsText({ stats: await source.stats(), metrics: null, threads: 0, histograms: null });
    res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    res.end(text);
  });

  const action = (run: (context: RouteContext, body: Record<string, unknown>) => Promise<unknown>) => async (context: RouteContext) => {
    const { req, res } = context;
    const allowed = guard.allowAction(req);
    if (!allowed.ok) return sendError(res, allowed.status, 'ERR_FORBIDDEN', allowed.reason);
    if (source.actions === null) return sendError(res, 403, 'ERR_READ_ONLY', 'This dashboard is read-only: another process owns the database.');
    try {
      const body = await readJson(req);
      const answer = await run(context, body);
      if (res.headersSent) return;
      sendJson(res, 200, answer ?? { ok: true });
      hub.change(context.params.id);
    } catch (error) {
      sendFailure(res, error);
    }
  };
  const actions = () => source.actions!;

  router.post('/api/tasks/:id/cancel', action(({ params }) => actions().cancel(params.id!)));
  router.post('/api/tasks/:id/pause', action(({ params }) => actions().pause(params.id!)));
  router.post('/api/tasks/:id/resume', action(({ params }) => actions().resume(params.id!)));
  router.post(
    '/api/tasks/:id/priority',
    action(async ({ params }, body) => {
      await actions().setPriority(params.id!, body.priority as Priority);
    }),
  );
  router.post(
    '/api/tasks/:id/retry',
    action(async ({ params, res }) => {
      const task = await source.get(params.id!);
      if (task === undefined) return void sendError(res, 404, 'ERR_TASK_NOT_FOUND', `No task "${params.id}".`);
      if (!FINISHED_STATUSES.includes(task.status) || task.status === 'completed') {
        return void sendError(res, 409, 'ERR_INVALID_TRANSITION', `Only a failed or cancelled task can be retried; this one is ${task.status}.`);
      }
      return { id: await actions().retry(task) };
    }),
  );
  router.post(
    '/api/schedules/:name/run',
    action(async ({ params }) => ({ id: await actions().runSchedule(params.name!) })),
  );
  for (const bulk of ['cancel', 'pause', 'resume'] as BulkAction[]) {
    router.post(
      `/api/bulk/${bulk}`,
      action(async (_context, body) => {
        const filter: Record<string, unknown> = {};
        for (const key of ['status', 'type', 'priority'] as const) if (body[key] !== undefined) filter[key] = body[key];
        return { count: await actions().many(bulk, filter) };
      }),
    );
  }
}
