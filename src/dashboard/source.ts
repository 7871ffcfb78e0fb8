/**
 * What a dashboard reads and drives: a live runtime (reads, events, actions), or an
 * inspector on a database another process owns (reads only, no events). The server sees
 * only this shape.
 */
import type { Observable } from 'rxjs';
import type { TaskInspector } from '../inspect/inspector.js';
import { redact } from '../store/postgres/pg-errors.js';
import { isPostgresUrl } from '../store/postgres/pg-url.js';
import type { ScheduleInfo } from '../scheduler/cron.js';
import type { RuntimeMetrics } from '../streams/metrics.js';
import type { TaskStore } from '../store/task-store.js';
import type { Priority, Task, TaskEvent, TaskFilter, ListFilter, TaskStats } from '../types.js';

export type BulkAction = 'cancel' | 'pause' | 'resume';

/** What a runtime lets the dashboard change; absent on a read-only source. */
export interface SourceActions {
  cancel(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  setPriority(id: string, priority: Priority): Promise<void>;
  /** Submits a new task of the same type, payload and priority; resolves to its id. */
  retry(task: Task): Promise<string>;
  many(action: BulkAction, filter: TaskFilter): Promise<number>;
  /** Submits a schedule's task now (its next tick stays); resolves to the task's id. */
  runSchedule(name: string): Promise<string>;
  /** The types this host can submit (a retry of another type is refused). */
  taskTypes: readonly string[];
}

/**
 * The store's reads behind the list's text filter (TaskStore.search and findByPrefix),
 * handed over by the runtime or inspector that opens the dashboard: neither has them as a
 * public method.
 */
export type SearchReads = Pick<TaskStore, 'search' | 'findByPrefix'>;

export interface DashboardSource extends SearchReads {
  /** Shown in the page's header: the file or the redacted URL. */
  label: string;
  get(id: string): Promise<Task | undefined>;
  list(filter: ListFilter): Promise<Task[]>;
  stats(): Promise<TaskStats>;
  schedules(): Promise<ScheduleInfo[]>;
  /** Null when the source has no metrics (an inspector). */
  metrics(): RuntimeMetrics | null;
  /** The runtime's Prometheus text (rt.metricsText()), or null (an inspector: gauges only). */
  metricsText: (() => Promise<string>) | null;
  /** Null when the source has no events: changes are found by re-reading. */
  events$: Observable<TaskEvent> | null;
  /** Worker threads of this host (0 for an inspector or a producer-only host). */
  threads: number;
  actions: SourceActions | null;
}

/** The public surface of TaskRuntime the dashboard uses (typed here to keep the import one way). */
export interface RuntimeLike {
  get(id: string): Promise<Task | undefined>;
  list(filter?: ListFilter): Promise<Task[]>;
  stats(): Promise<TaskStats>;
  schedules(): Promise<ScheduleInfo[]>;
  metrics(): RuntimeMetrics;
  metricsText(): Promise<string>;
  readonly events$: Observable<TaskEvent>;
  readonly taskTypes: string[];
  cancel(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  setPriority(id: string, priority: Priority): Promise<void>;
  submit(type: string, payload?: unknown, options?: { priority?: Priority; name?: string }): Promise<{ id: string }>;
  cancelMany(filter?: TaskFilter): Promise<number>;
  pauseMany(filter?: TaskFilter): Promise<number>;
  resumeMany(filter?: TaskFilter): Promise<number>;
  runSchedule(name: string): Promise<{ id: string }>;
}

export function runtimeSource(rt: RuntimeLike, database: string, threads: number, reads: SearchReads): DashboardSource {
  return {
    label: isPostgresUrl(database) ? redact(database) : database,
    get: (id) => rt.get(id),
    list: (filter) => rt.list(filter),
    search: (filter, search) => reads.search(filter, search),
    findByPrefix: (prefix, limit) => reads.findByPrefix(prefix, limit),
    stats: () => rt.stats(),
    schedules: () => rt.schedules(),
    metrics: () => rt.metrics(),
    metricsText: () => rt.metricsText(),
    events$: rt.events$,
    threads,
    actions: {
      cancel: (id) => rt.cancel(id),
      pause: (id) => rt.pause(id),
      resume: (id) => rt.resume(id),
      setPriority: (id, priority) => rt.setPriority(id, priority),
      retry: async (task) => {
        const options: { priority: Priority; name?: string } = { priority: task.priority };
        if (task.name !== null) options.name = task.name;
        return (await rt.submit(task.type, task.payload, options)).id;
      },
      runSchedule: async (name) => (await rt.runSchedule(name)).id,
      many: (action, filter) => (action === 'cancel' ? rt.cancelMany(filter) : action === 'pause' ? rt.pauseMany(filter) : rt.resumeMany(filter)),
      get taskTypes() {
        return rt.taskTypes;
      },
    },
  };
}

export function inspectorSource(inspector: TaskInspector, label: string, reads: SearchReads): DashboardSource {
  return {
    label,
    get: (id) => inspector.get(id),
    list: (filter) => inspector.list(filter),
    search: (filter, search) => reads.search(filter, search),
    findByPrefix: (prefix, limit) => reads.findByPrefix(prefix, limit),
    stats: () => inspector.stats(),
    schedules: () => inspector.schedules(),
    metrics: () => null,
    metricsText: null,
    events$: null,
    threads: 0,
    actions: null,
  };
}
