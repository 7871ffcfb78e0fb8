/**
 * ls, show, stats and cleanup: one inspector each (openInspector), no runtime, no thread.
 * The reads take no owner lock, so they work while a runtime has the file open; cleanup
 * takes it for its delete.
 */
import { TASK_STATUSES, type Priority, type TaskFilter, type TaskStats, type TaskStatus } from '../src/index.js';
import { CliError, FINISHED, print, withInspector, type Common } from './common.js';
import { ago, formatDuration, runTime, table, taskColumns, toJson } from './format.js';

export async function ls(options: Common & { status?: TaskStatus[]; priority?: Priority[]; type?: string[]; limit: number }): Promise<void> {
  const filter: TaskFilter = { limit: options.limit };
  if (options.status) filter.status = options.status;
  if (options.priority) filter.priority = options.priority;
  if (options.type) filter.type = options.type;
  const tasks = await withInspector(options.db, (inspector) => inspector.list(filter));
  if (options.json) return print(toJson(tasks));
  if (tasks.length === 0) return print('no tasks');
  print(table(tasks, taskColumns()));
}

/** One task, by its id or by the start of it when that names exactly one task. */
export async function show(id: string, options: Common): Promise<void> {
  const task = await withInspector(options.db, (inspector) => inspector.find(id));
  if (task === undefined) throw new CliError(`offthread: no task "${id}" in ${options.db}.`);
  if (options.json) return print(toJson(task, 2));
  const date = (at: number | null) => (at === null ? '-' : `${new Date(at).toISOString()} (${ago(at)})`);
  const rows: [string, string][] = [
    ['id', task.id],
    ['type', task.type],
    ['name', task.name ?? '-'],
    ['description', task.description ?? '-'],
    ['status', task.status],
    ['priority', task.priority],
    ['progress', `${Math.floor(task.progress)}%${task.progressMessage === null ? '' : `  ${task.progressMessage}`}`],
    ['attempts', `${task.attempts} (retries allowed: ${task.retries})`],
    ['created', date(task.createdAt)],
    ['started', date(task.startedAt)],
    ['finished', date(task.completedAt)],
    ['run time', runTime(task)],
    ['updated', date(task.updatedAt)],
  ];
  if (task.runAt !== null) rows.push(['run at', date(task.runAt)]);
  if (task.timeoutMs !== null) rows.push(['timeout', formatDuration(task.timeoutMs)]);
  if (task.key !== null) rows.push(['key', task.key]);
  if (task.dependsOn.length > 0) rows.push(['depends on', `${task.dependsOn.join(', ')} (on parent failure: ${task.onParentFailure})`]);
  rows.push(['payload', task.payload === undefined ? '-' : toJson(task.payload)]);
  if (task.result !== null) rows.push(['result', toJson(task.result)]);
  if (task.error !== null) rows.push(['error', `${task.error.code}: ${task.error.message}`]);
  const width = Math.max(...rows.map(([key]) => key.length));
  print(rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n'));
}

export async function stats(options: Common): Promise<void> {
  const counts = await withInspector(options.db, (inspector) => inspector.stats());
  if (options.json) return print(toJson(counts));
  print(statsTable(counts));
}

function statsTable(counts: TaskStats): string {
  const rows = [...TASK_STATUSES.map((status) => [status, counts[status]] as const), ['total', counts.total] as const];
  return table(rows, [
    { header: 'STATUS', value: ([status]) => status },
    { header: 'TASKS', value: ([, n]) => String(n), right: true },
  ]);
}

/**
 * Deletes old finished rows through the inspector: no runtime, so no thread starts and the
 * unfinished tasks in the file are left as they are (`--handlers`, which a runtime needed
 * for them, is accepted and ignored). Takes the owner lock: a file a runtime has open is
 * refused with ERR_STORE_LOCKED, naming its process.
 */
export async function cleanup(options: Common & { olderThan: number; status?: TaskStatus[]; handlers?: string }): Promise<void> {
  const removed = await withInspector(options.db, (inspector) =>
    inspector.cleanup({ olderThanMs: options.olderThan, statuses: options.status ?? FINISHED }),
  );
  if (options.json) return print(toJson({ removed }));
  print(`removed ${removed} finished task(s) older than ${formatDuration(options.olderThan)} from ${options.db}`);
}
