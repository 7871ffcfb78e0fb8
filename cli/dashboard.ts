/**
 * dashboard: serves the web dashboard of a database until Ctrl-C or SIGTERM. A SQLite file
 * belongs to the runtime that has it open, so it is shown read-only through an inspector.
 * A queue on PostgreSQL is shared by design: a producer-only runtime (concurrency 0, no
 * thread runs a task) joins it, so the page's actions reach the task wherever it runs.
 */
import { TaskRuntime, type Dashboard } from '../src/index.js';
import { cliError, openForCli, print } from './common.js';

export interface DashboardCliOptions {
  db: string;
  port: number;
  host?: string;
  token?: string;
  handlers?: string;
  queue?: string;
}

const POSTGRES = /^postgres(ql)?:\/\//i;
const NO_TASK_TYPES = new URL('./no-task-types.js', import.meta.url);

export async function dashboard(options: DashboardCliOptions): Promise<void> {
  const served: { port: number; host?: string; token?: string } = { port: options.port };
  if (options.host !== undefined) served.host = options.host;
  // From the environment, the token stays out of `ps` listings and shell history.
  const token = options.token ?? process.env.OFFTHREAD_DASHBOARD_TOKEN;
  if (token !== undefined && token !== '') served.token = token;
  let close: () => Promise<void>;
  let shown: Dashboard;
  let mode: string;
  try {
    const shared = POSTGRES.test(options.db);
    // Either way, something to serve the page from and to close at the end.
    const source: { dashboard(options: typeof served): Promise<Dashboard>; close(): Promise<void> } = shared
      ? await TaskRuntime.open({
          handlers: options.handlers ?? NO_TASK_TYPES,
          database: options.db,
          concurrency: 0,
          ...(options.queue === undefined ? {} : { queue: options.queue }),
        })
      : await openForCli(options.db);
    close = () => source.close();
    try {
      shown = await source.dashboard(served);
    } catch (error) {
      await source.close();
      throw error;
    }
    mode = shared ? `queue ${options.queue ?? 'default'}, with actions` : 'read-only: the runtime that has it open owns it';
  } catch (error) {
    throw cliError(error);
  }
  print(`offthread dashboard of ${withoutPassword(options.db)} (${mode})`);
  print(shown.url);
  await new Promise<void>((done) => {
    const stop = () => void close().finally(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** A postgres:// URL as it may be printed: its password masked. */
function withoutPassword(db: string): string {
  if (!POSTGRES.test(db)) return db;
  try {
    const url = new URL(db);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return db;
  }
}
