/**
 * watch: a live view of a database another process is running, through one inspector kept
 * open (read-only, no owner lock) until Ctrl-C or SIGTERM.
 */
import { watch as watchFs, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { TASK_STATUSES } from '../src/index.js';
import { FINISHED, UNFINISHED, openForCli, print, type Common } from './common.js';
import { table, taskColumns, toJson } from './format.js';

/** At most one re-read per this many ms after a change of the files... */
const WATCH_THROTTLE_MS = 200;
/** ...and one re-read this often anyway (a file system whose events fs.watch misses; the ages shown). */
const WATCH_FALLBACK_MS = 2000;

/**
 * Re-reads the database when its files change (fs.watch on its folder, for the database,
 * -wal and -shm files: the -wal file changes on every commit), at most once per
 * WATCH_THROTTLE_MS, and every WATCH_FALLBACK_MS anyway. In a terminal it redraws a screen;
 * otherwise it prints a line per task that changed (or, with --json, a JSON line per change).
 */
export async function watch(options: Common & { limit: number }): Promise<void> {
  const path = options.db;
  const inspector = await openForCli(path);
  const tty = process.stdout.isTTY === true && !options.json;
  const seen = new Map<string, string>();
  let lastJson = '';
  let lastStats = '';

  const read = async () => {
    const [counts, unfinished, finished] = [
      await inspector.stats(),
      await inspector.list({ status: UNFINISHED, limit: options.limit }),
      await inspector.list({ status: FINISHED, limit: options.limit }),
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

  let stopped = false;
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
      .catch((error: unknown) => {
        // A read still under way when Ctrl-C closed the inspector fails with ERR_RUNTIME_CLOSED: not worth a word.
        if (!stopped) process.stderr.write(`offthread watch: reading ${path} failed, trying again: ${(error as Error).message}\n`);
      })
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
  // A PostgreSQL queue has no file to watch: it is re-read every WATCH_FALLBACK_MS.
  const isFile = !/^postgres(ql)?:\/\//i.test(path);
  if (isFile) {
    try {
      watcher = watchFs(dirname(resolve(path)), (_event, file) => {
        if (file === null || file === name || file === `${name}-wal` || file === `${name}-shm`) schedule();
      });
    } catch (error) {
      process.stderr.write(`offthread watch: cannot watch ${dirname(resolve(path))} (${(error as Error).message}); re-reading every ${WATCH_FALLBACK_MS} ms\n`);
    }
  }
  const fallback = setInterval(schedule, WATCH_FALLBACK_MS);
  refresh();

  await new Promise<void>((done) => {
    const stop = () => {
      stopped = true;
      watcher?.close();
      clearInterval(fallback);
      clearTimeout(timer);
      void inspector.close().finally(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
