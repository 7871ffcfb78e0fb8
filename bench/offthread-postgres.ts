/**
 * offthread on a fresh database of the benchmark's PostgreSQL server: the same
 * TaskRuntime.open as with SQLite, the database a postgres:// URL. One host, 2 threads.
 */
import { InvalidOptionError, TaskRuntime, type RuntimeOptions } from 'offthread';
import { Unavailable, type Contender } from './lib/contender.js';
import type { Database, PostgresServer } from './lib/postgres-server.js';
import { eachAtOnce, type SubmitMode } from './lib/submit-mode.js';
import type { Work } from './lib/work.js';

export const SHARED_HANDLERS = new URL('./workers/shared-queue-handlers.js', import.meta.url);

const item = (work: Work) => (work === 'noop' ? { type: 'noop' } : { type: 'work', payload: work });

export function offthreadPostgres(server: () => PostgresServer, mode: SubmitMode): Contender {
  let db: Database | undefined;
  let runtime: TaskRuntime | undefined;
  const one = async (work: Work) => {
    const { type, payload } = item(work);
    await (await runtime!.submit(type, payload)).result();
  };
  return {
    name: `offthread postgres: ${mode === 'each' ? 'submit each' : 'submitMany'}`,
    async setup(threads) {
      db = await server().freshDatabase();
      runtime = await openOnPostgres({ handlers: SHARED_HANDLERS, database: db.url, concurrency: threads });
      // Warm up: threads started, the module loaded, the no-op type known to be short.
      const warm = await runtime.submitMany(Array.from({ length: 200 }, () => item('noop')));
      await Promise.all(warm.map((h) => h.result()));
    },
    async runMany(count, work) {
      if (mode === 'each') return eachAtOnce(count, () => one(work));
      const handles = await runtime!.submitMany(Array.from({ length: count }, () => item(work)));
      await Promise.all(handles.map((h) => h.result()));
    },
    runOne: one,
    async teardown() {
      await runtime?.close();
      runtime = undefined;
      await db?.drop();
    },
  };
}

/**
 * TaskRuntime.open, with a build that refuses a postgres:// database (one from before the
 * runtime ran tasks on PostgreSQL) said in a few words: the row is skipped, not failed.
 */
export async function openOnPostgres(options: RuntimeOptions): Promise<TaskRuntime> {
  try {
    return await TaskRuntime.open(options);
  } catch (error) {
    if (error instanceof InvalidOptionError && error.option === 'database') {
      throw new Unavailable('this build of offthread does not run tasks on PostgreSQL');
    }
    throw error;
  }
}
