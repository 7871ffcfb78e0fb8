/**
 * Internal, for tests only: a crash at a chosen commit of the SQLite store, to prove that a
 * host killed right after any of its transactions reopens to a consistent file. Not part of
 * the API; the names say so, and nothing but the crash-point tests should set them.
 *
 * - OFFTHREAD_INTERNAL_CRASH_AFTER_COMMITS=k: right after this process's k-th committed store
 *   transaction, the process kills itself with SIGKILL. Nothing runs after the commit: no
 *   exit handler, no flush, no close, as when the power or the OOM killer takes a host.
 *   `<where>:n` (e.g. `tick-claim:1`) counts only the commits at that point: where a commit
 *   of one kind falls among the others depends on timing (group commit, the clock of cron).
 * - OFFTHREAD_INTERNAL_COMMIT_LOG=<file>: every committed transaction appends a line
 *   `<n> <where>` to that file (synchronously, so the file is whole even after a kill): a run
 *   without a crash tells the test how many crash points its workload has, and what each is.
 *
 * Both are read once, when the store is first loaded. Unset, `committed` is a function that
 * does nothing, so the commit path pays one empty call.
 */
import { appendFileSync } from 'node:fs';

/** Where a transaction committed: the points the switch counts. */
export type CommitPoint =
  | 'migration'
  | 'recovery'
  | 'tasks'
  | 'cleanup'
  | 'sweep'
  | 'schedule-save'
  | 'schedule-remove'
  | 'tick-claim'
  | 'tick-record';

const CRASH_AFTER = 'OFFTHREAD_INTERNAL_CRASH_AFTER_COMMITS';
const COMMIT_LOG = 'OFFTHREAD_INTERNAL_COMMIT_LOG';

/** Called by the store right after each transaction it committed (see the kinds above). */
export const committed: (where: CommitPoint) => void = counter(process.env[CRASH_AFTER], process.env[COMMIT_LOG]);

function counter(crashAfter: string | undefined, log: string | undefined): (where: CommitPoint) => void {
  if (crashAfter === undefined && log === undefined) return () => {};
  const [only, n] = crashAfter?.includes(':') === true ? crashAfter.split(':') : [undefined, crashAfter];
  const limit = n === undefined ? Number.POSITIVE_INFINITY : Number(n);
  if (!(limit >= 1)) throw new Error(`${CRASH_AFTER} must be k or <where>:k with k >= 1, got ${String(crashAfter)}`);
  let count = 0;
  let counted = 0;
  return (where) => {
    count++;
    if (log !== undefined) appendFileSync(log, `${count} ${where}\n`);
    if ((only === undefined || where === only) && ++counted >= limit) process.kill(process.pid, 'SIGKILL');
  };
}
