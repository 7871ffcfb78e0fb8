#!/usr/bin/env node
/**
 * offthread: the command-line tool. Inspect a task database (ls, show, stats, watch: read
 * only, without the owner lock, so they work while a runtime has the file open), remove old
 * finished tasks (cleanup: takes the lock), or run one task from a handlers module (run).
 *
 * Exit codes: 0 success, 1 failure (a missing or unreadable database, a task that failed,
 * a locked file...), 2 bad usage (an unknown command or option, a bad value).
 */
import { existsSync, readFileSync, statSync, watch as watchFs, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { OffthreadError, PRIORITIES, TASK_STATUSES, TaskRuntime, type Priority, type Task, type TaskFilter, type TaskStats, type TaskStatus } from '../src/index.js';
import { SqliteTaskStore } from '../src/store/sqlite-store.js';
import { ago, formatDuration, parseDuration, runTime, shortId, table, taskColumns, toJson } from './format.js';

const DEFAULT_DB = './offthread-demo.db';
const FINISHED: TaskStatus[] = ['completed', 'failed', 'cancelled'];
const UNFINISHED: TaskStatus[] = ['queued', 'running', 'paused'];
/** A handlers module with no task types: what cleanup opens its runtime with. */
const NO_HANDLERS = 'data:text/javascript,export {}';
/** watch: at most one re-read per this many ms after a change of the files... */
const WATCH_THROTTLE_MS = 200;
/** ...and one re-read this often anyway (a file system whose events fs.watch misses; the ages shown). */
const WATCH_FALLBACK_MS = 2000;

/** An error for the user: its message is printed as it is, then the process exits with `exitCode`. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Option parsing

function listOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const values = value.split(',').map((v) => v.trim()).filter(Boolean);
    for (const v of values) {
      if (!allowed.includes(v as T)) throw new InvalidArgumentError(`"${v}" is not a ${name}; expected ${allowed.join(', ')}.`);
    }
    if (values.length === 0) throw new InvalidArgumentError(`expected one or more of ${allowed.join(', ')}, comma-separated.`);
    return values as T[];
  };
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}".`);
  return n;
}

function positiveNumber(value: string): number {
  const n = wholeNumber(value);
  if (n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}".`);
  return n;
}

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration like 7d, 12h, 30m, 45s or 500ms, got "${value}".`);
  return ms;
}

function json(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected JSON, got ${value}: ${(error as Error).message}`);
  }
}

interface Common {
  db: string;
  json?: boolean;
}

function withCommon(command: Command, what = 'SQLite file of the tasks'): Command {
  return command.option('--db <path>', what, DEFAULT_DB).option('--json', 'print JSON for scripts instead of a table');
}

// ---------------------------------------------------------------------------------------
// Opening the database

/** Opens a database for reading, without the owner lock; never creates one. */
function openReadonly(path: string): SqliteTaskStore {
  if (!existsSync(path)) {
    throw new CliError(`offthread: no database at ${path} (${resolve(path)}); nothing was created. Pass --db PATH to name another file.`);
  }
  if (!statSync(path).isFile()) throw new CliError(`offthread: ${path} is not a file.`);
  try {
    return SqliteTaskStore.open(path, { readonly: true });
  } catch (error) {
    throw new CliError(`offthread: cannot read the database ${path}: ${(error as Error).message}`);
  }
}

async function withStore<T>(path: string, use: (store: SqliteTaskStore) => Promise<T>): Promise<T> {
  const store = openReadonly(path);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

// ---------------------------------------------------------------------------------------
// Commands

async function ls(options: Common & { status?: TaskStatus[]; priority?: Priority[]; type?: string[]; limit: number }): Promise<void> {
  const filter: TaskFilter = { limit: options.limit };
  if (options.status) filter.status = options.status;
  if (options.priority) filter.priority = options.priority;
  if (options.type) filter.type = options.type;
  const tasks = await withStore(options.db, (store) => store.list(filter));
  if (options.json) return print(toJson(tasks));
  if (tasks.length === 0) return print('no tasks');
  print(table(tasks, taskColumns()));
}

/** A task by its id, or by the start of it when that names exactly one task. */
async function findTask(store: SqliteTaskStore, id: string): Promise<Task> {
  const task = await store.get(id);
  if (task !== undefined) return task;
  const matches = id.length >= 4 ? (await store.list({ limit: Number.MAX_SAFE_INTEGER })).filter((t) => t.id.startsWith(id)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new CliError(`offthread: ${matches.length} tasks have an id starting with "${id}"; give more of it.`);
  throw new CliError(`offthread: no task "${id}".`);
}

async function show(id: string, options: Common): Promise<void> {
  const task = await withStore(options.db, async (store) => {
    try {
      return await findTask(store, id);
    } catch (error) {
      if (error instanceof CliError) throw new CliError(`${error.message.replace(/\.$/, '')} in ${options.db}.`);
      throw error;
    }
  });
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

async function stats(options: Common): Promise<void> {
  const counts = await withStore(options.db, (store) => store.stats());
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

async function cleanup(options: Common & { olderThan: number; status?: TaskStatus[]; handlers?: string }): Promise<void> {
  const path = options.db;
  if (!existsSync(path)) throw new CliError(`offthread: no database at ${path} (${resolve(path)}); nothing was created.`);
  if (options.handlers === undefined) {
    // A runtime re-queues and runs the unfinished tasks it finds; with no handlers they would fail.
    const counts = await withStore(path, (store) => store.stats());
    const unfinished = counts.queued + counts.running + counts.paused;
    if (unfinished > 0) {
      throw new CliError(
        `offthread: ${path} holds ${unfinished} unfinished task(s). cleanup opens a runtime on the file, and a runtime runs ` +
          'the unfinished tasks it finds: pass --handlers MODULE (the handlers they were submitted with), or clean up once they have finished.',
      );
    }
  }
  let rt: TaskRuntime;
  try {
    rt = await TaskRuntime.open({ handlers: options.handlers ?? NO_HANDLERS, database: path, concurrency: 1 });
  } catch (error) {
    if (error instanceof OffthreadError) throw new CliError(`offthread: ${error.code}: ${error.message}`);
    throw error;
  }
  let removed: number;
  try {
    removed = await rt.cleanup({ olderThanMs: options.olderThan, statuses: options.status ?? FINISHED });
  } finally {
    await rt.close();
  }
  if (options.json) return print(toJson({ removed }));
  print(`removed ${removed} finished task(s) older than ${formatDuration(options.olderThan)} from ${path}`);
}

async function run(
  handlers: string,
  type: string,
  payload: unknown,
  options: Common & { priority?: Priority; name?: string; concurrency: number },
): Promise<void> {
  let rt: TaskRuntime;
  try {
    rt = await TaskRuntime.open({ handlers, database: options.db, concurrency: options.concurrency, progressIntervalMs: 100 });
  } catch (error) {
    if (error instanceof OffthreadError) throw new CliError(`offthread: ${error.code}: ${error.message}`);
    throw error;
  }
  const tty = process.stderr.isTTY === true && !options.json;
  const bar = tty
    ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {message}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  let id: string | undefined;
  process.once('SIGINT', () => {
    bar?.stop();
    process.stderr.write(`\ninterrupted: task ${id ?? '(not submitted)'} stays in ${options.db} and runs again on the next open of the file\n`);
    rt.close({ graceful: false }).finally(() => process.exit(130));
  });
  try {
    if (!rt.taskTypes.includes(type)) {
      throw new CliError(`offthread: ${handlers} has no task type "${type}"; it has: ${rt.taskTypes.join(', ') || '(none)'}.`, 2);
    }
    const submitOptions: { priority?: Priority; name?: string } = {};
    if (options.priority) submitOptions.priority = options.priority;
    if (options.name) submitOptions.name = options.name;
    const handle = await rt.submit(type, payload, submitOptions);
    id = handle.id;
    if (!options.json) process.stderr.write(`submitted ${type} as ${handle.id} to ${options.db}\n`);
    bar?.start(100, 0, { message: 'queued' });
    let printed = -1;
    handle.progress$.subscribe(({ progress, message }) => {
      if (bar) return bar.update(progress, { message: message ?? '' });
      if (options.json || Math.floor(progress / 10) <= printed || (progress === 0 && message === null)) return;
      printed = Math.floor(progress / 10);
      process.stderr.write(`${progress.toFixed(0).padStart(3)}% ${message ?? ''}\n`);
    });
    await handle.result().catch(() => undefined);
    bar?.stop();
    const task = (await rt.get(handle.id))!;
    if (options.json) print(toJson(task, 2));
    else if (task.status === 'completed') print(`completed in ${runTime(task)} (attempt ${task.attempts})\nresult: ${toJson(task.result) ?? 'undefined'}`);
    else process.stderr.write(`${task.status}: ${task.error?.code ?? ''}: ${task.error?.message ?? ''}\n`);
    if (task.status !== 'completed') process.exitCode = 1;
  } finally {
    bar?.stop();
    await rt.close();
  }
}

/**
 * A live view of a database another process is running. Re-reads it when its files change
 * (fs.watch on its folder, for the database, -wal and -shm files: the -wal file changes on
 * every commit), at most once per WATCH_THROTTLE_MS, and every WATCH_FALLBACK_MS anyway.
 * In a terminal it redraws a screen; otherwise it prints a line per task that changed
 * (or, with --json, a JSON line per change).
 */
async function watch(options: Common & { limit: number }): Promise<void> {
  const path = options.db;
  const store = openReadonly(path);
  const tty = process.stdout.isTTY === true && !options.json;
  const seen = new Map<string, string>();
  let lastJson = '';
  let lastStats = '';

  const read = async () => {
    const [counts, unfinished, finished] = [
      await store.stats(),
      await store.list({ status: UNFINISHED, limit: options.limit }),
      await store.list({ status: FINISHED, limit: options.limit }),
    ];
    const now = Date.now();
    if (options.json) {
      const line = toJson({ stats: counts, unfinished, finished });
      if (line !== lastJson) print(toJson({ at: now, stats: counts, unfinished, finished }));
      lastJson = line;
    } else if (tty) {
      let screen = `\x1b[H\x1b[2J${`offthread watch ${path}`}  ${new Date(now).toLocaleTimeString()}  (Ctrl-C to quit)\n\n`;
      screen += TASK_STATUSES.map((s) => `${s} ${counts[s]}`).join('  ') + `  total ${counts.total}\n\n`;
      screen += unfinished.length === 0 ? 'nothing queued, running or paused\n' : table(unfinished, taskColumns(now));
      if (finished.length > 0) screen += `\nrecently finished\n${table(finished, taskColumns(now))}`;
      process.stdout.write(screen);
    } else {
      const statsLine = `stats ${TASK_STATUSES.map((s) => `${s}=${counts[s]}`).join(' ')} total=${counts.total}`;
      if (statsLine !== lastStats) print(`${new Date(now).toISOString()} ${statsLine}`);
      lastStats = statsLine;
      for (const task of [...finished, ...unfinished].reverse()) {
        const state = `${task.status} ${Math.floor(task.progress)}%`;
        if (seen.get(task.id) === state) continue;
        seen.set(task.id, state);
        print(`${new Date(now).toISOString()} ${task.id} ${task.type} ${task.name ?? '-'} ${state}${task.error ? ` ${task.error.code}` : ''}`);
      }
    }
  };

  let reading = false;
  let again = false;
  let lastRead = 0;
  let timer: NodeJS.Timeout | undefined;
  const refresh = () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    lastRead = Date.now();
    read()
      .catch((error: unknown) => process.stderr.write(`offthread watch: reading ${path} failed, trying again: ${(error as Error).message}\n`))
      .finally(() => {
        reading = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  const schedule = () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, lastRead + WATCH_THROTTLE_MS - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      refresh();
    }, wait);
  };

  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watchFs(dirname(resolve(path)), (_event, file) => {
      if (file === null || file === name || file === `${name}-wal` || file === `${name}-shm`) schedule();
    });
  } catch (error) {
    process.stderr.write(`offthread watch: cannot watch ${dirname(resolve(path))} (${(error as Error).message}); re-reading every ${WATCH_FALLBACK_MS} ms\n`);
  }
  const fallback = setInterval(schedule, WATCH_FALLBACK_MS);
  refresh();

  await new Promise<void>((done) => {
    const stop = () => {
      watcher?.close();
      clearInterval(fallback);
      clearTimeout(timer);
      void store.close().finally(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

// ---------------------------------------------------------------------------------------
// The program

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const program = new Command('offthread')
  .description('Inspect and drive offthread task databases (SQLite files written by TaskRuntime).')
  .version(version())
  .exitOverride()
  .showHelpAfterError('(run `offthread help` or `offthread help <command>` for usage)')
  .addHelpText(
    'after',
    `\nEvery command takes --db PATH (default ${DEFAULT_DB}). ls, show, stats and watch open it read-only:\n` +
      'they never create it and work while a runtime has it open.\n' +
      'Exit codes: 0 success, 1 failure, 2 bad usage.',
  );

withCommon(
  program
    .command('ls')
    .description('list tasks, newest first')
    .option('--status <list>', `only these statuses, comma-separated (${TASK_STATUSES.join(', ')})`, listOf('status', TASK_STATUSES))
    .option('--priority <list>', `only these priorities, comma-separated (${PRIORITIES.join(', ')})`, listOf('priority', PRIORITIES))
    .option('--type <list>', 'only these task types, comma-separated', (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean))
    .option('--limit <n>', 'at most this many tasks', wholeNumber, 50),
).action(ls);

withCommon(program.command('show').description('everything about one task').argument('<id>', 'task id (or a unique start of it, 4 characters or more)')).action(show);

withCommon(program.command('stats').description('how many tasks there are in each status')).action(stats);

withCommon(
  program
    .command('cleanup')
    .description('remove finished tasks that finished at least this long ago (takes the owner lock)')
    .requiredOption('--older-than <duration>', 'e.g. 7d, 12h, 30m, 45s, 500ms (0: every finished task)', duration)
    .option('--status <list>', 'only these finished statuses, comma-separated (completed, failed, cancelled)', listOf('finished status', FINISHED))
    .option('--handlers <module>', 'the handlers module, needed when the file holds unfinished tasks (they run meanwhile)'),
).action(cleanup);

withCommon(
  program
    .command('watch')
    .description('a live view of a database that another process is running (Ctrl-C to quit)')
    .option('--limit <n>', 'show at most this many unfinished and this many finished tasks', positiveNumber, 20),
).action(watch);

withCommon(
  program
    .command('run')
    .description('submit one task and show its progress until it ends (exit 1 if it fails or is cancelled)')
    .argument('<handlers>', 'the handlers module (a .js file path or a file: URL)')
    .argument('<type>', 'the task type: an export of the handlers module made with defineTask')
    .addArgument(new Argument('[payload-json]', 'the payload, as JSON').argParser(json))
    .addOption(new Option('--priority <priority>', 'the task priority').choices(PRIORITIES))
    .option('--name <name>', 'a label for the task')
    .option('--concurrency <n>', 'worker threads (other unfinished tasks in the file run too)', positiveNumber, 1),
  'SQLite file to keep the task in (created if missing)',
).action(run);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version exit 0; every other complaint of the parser is bad usage.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof CliError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`offthread: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
