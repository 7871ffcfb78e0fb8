/*
 * A crash at every commit point of the SQLite store. The host of test/fixtures/crash-point-host.js
 * runs a scripted workload; a run without a crash counts its transactions (K). Then for each
 * k in 1..K, a host on a fresh file is killed with SIGKILL right after its k-th transaction
 * (the store's internal crash switch, src/store/crash-switch.ts), and what it was told must
 * hold in the file it left. Then other hosts (a new process, several files each) reopen
 * every file and must finish the workload from where the crash left it.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { TASK_STATUSES, type TaskStatus } from 'offthread';
import { canMove, isFinished } from '../../src/scheduler/transitions.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { tempDatabase } from '../helpers.js';

const HOST = new URL('../fixtures/crash-point-host.js', import.meta.url).pathname;
const CRASH_AFTER = 'OFFTHREAD_INTERNAL_CRASH_AFTER_COMMITS';
const COMMIT_LOG = 'OFFTHREAD_INTERNAL_COMMIT_LOG';
/**
 * Crash points run at once, a host each. Three on two cores: a host spends most of its CPU
 * starting, and the last crash points of each run wait for the cron tick, not for a core.
 */
const PARALLEL = 3;

/** The script's tasks in submit order, and how each ends. */
const SCRIPT: ReadonlyArray<{ name: string; status: TaskStatus; result: unknown }> = [
  { name: 'steps-1', status: 'completed', result: { steps: 3 } },
  { name: 'steps-2', status: 'completed', result: { steps: 5 } },
  { name: 'pause-me', status: 'completed', result: { gate: 'pause' } },
  { name: 'cancel-me', status: 'cancelled', result: null },
  { name: 'retry-me', status: 'completed', result: 'retried' },
  { name: 'link-1', status: 'completed', result: 1 },
  { name: 'link-2', status: 'completed', result: 3 },
  { name: 'link-3', status: 'completed', result: 6 },
];

interface HostRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the host on the databases until it exits, with the crash switch's variables as given (and no others). */
function runHost(databases: string[], env: Record<string, string> = {}): Promise<HostRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!(CRASH_AFTER in env)) delete childEnv[CRASH_AFTER];
  if (!(COMMIT_LOG in env)) delete childEnv[COMMIT_LOG];
  const child = spawn(process.execPath, [HOST, ...databases], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': both pipes are drained by then.
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** How a host ended, and what it said on stderr. */
function exitOf(run: HostRun) {
  return { code: run.code, signal: run.signal, stderr: run.stderr };
}
const CLEAN_EXIT = { code: 0, signal: null, stderr: '' };

/** The commit log's lines: `<n> <where>`. */
function commitsOf(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

interface Row {
  seq: number;
  id: string;
  name: string | null;
  type: string;
  status: string;
  result: unknown;
  error: string | null;
  attempts: number;
  startedAt: number | null;
  completedAt: number | null;
}

interface FileState {
  integrity: string;
  version: number;
  rows: Row[];
  schedules: string[];
}

/** The file as a new reader finds it (read-only: the reopen still gets it as the crash left it). */
function readFile(database: string): FileState {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    const raw = tables.has('tasks')
      ? (db
          .prepare('SELECT seq, id, name, type, status, result, error, attempts, started_at, completed_at FROM tasks ORDER BY seq')
          .all() as Array<
          Omit<Row, 'result' | 'startedAt' | 'completedAt'> & {
            result: Buffer | null;
            started_at: number | null;
            completed_at: number | null;
          }
        >)
      : [];
    const rows = raw.map(({ result, started_at, completed_at, ...row }) => ({
      ...row,
      result: result === null ? null : deserialize(result),
      startedAt: started_at,
      completedAt: completed_at,
    }));
    const schedules = tables.has('schedules') ? (db.prepare('SELECT name FROM schedules').pluck().all() as string[]) : [];
    return { integrity, version, rows, schedules };
  } finally {
    db.close();
  }
}

/** What the hosts were told, from their log: acknowledged submits, delivered results, cancels. */
function toldOf(database: string) {
  const lines = existsSync(`${database}.log`) ? readFileSync(`${database}.log`, 'utf8').split('\n').filter(Boolean) : [];
  const acked: string[] = [];
  const results = new Map<string, unknown>();
  const cancelled: string[] = [];
  for (const line of lines) {
    const [kind, id, ...rest] = line.split(' ');
    if (kind === 'ack') acked.push(id!);
    else if (kind === 'result') results.set(id!, JSON.parse(rest.join(' ')));
    else if (kind === 'cancelled') cancelled.push(id!);
    else throw new Error(`unexpected log line: ${line}`);
  }
  return { acked, results, cancelled };
}

/** Holds in any file a host left, killed or not: what it was told is there, and every row is sound. */
function expectKeptPromises(state: FileState, database: string, where: string): void {
  expect(state.integrity, where).toBe('ok');
  const byId = new Map(state.rows.map((row) => [row.id, row]));
  const told = toldOf(database);
  for (const id of told.acked) expect(byId.has(id), `${where}: acknowledged submit ${id} is stored`).toBe(true);
  for (const [id, result] of told.results) {
    expect(byId.get(id)?.status, `${where}: delivered result of ${id}`).toBe('completed');
    expect(byId.get(id)?.result, `${where}: delivered result of ${id}`).toEqual(result);
  }
  for (const id of told.cancelled) expect(byId.get(id)?.status, `${where}: cancel of ${id}`).toBe('cancelled');
  for (const row of state.rows) {
    const task = `${where}: ${row.name ?? row.type} (${row.status})`;
    expect(TASK_STATUSES, task).toContain(row.status);
    // A finished row says when; an unfinished one has no end yet.
    expect(row.completedAt !== null, `${task}: completed_at`).toBe(isFinished(row.status as TaskStatus));
    // What ran was started, and counted; a failed or cancelled end says why, a completed one has no error.
    if (row.status === 'running' || row.status === 'completed') {
      expect([row.startedAt !== null, row.attempts >= 1], `${task}: started_at, attempts`).toEqual([true, true]);
    }
    if (row.status === 'failed' || row.status === 'cancelled') expect(row.error, `${task}: error`).not.toBeNull();
    if (row.status === 'completed') expect(row.error, `${task}: error`).toBeNull();
  }
  // Submits are awaited one by one: the stored tasks are the script's first ones, in order,
  // with the ticks' tasks after them.
  const named = state.rows.filter((row) => row.type !== 'tick').map((row) => row.name);
  expect(named, `${where}: stored tasks`).toEqual(SCRIPT.slice(0, named.length).map((task) => task.name));
}

/** Whether the transition table leads from one status to another (in any number of moves). */
function reachable(from: TaskStatus, to: TaskStatus): boolean {
  const seen = new Set<TaskStatus>([from]);
  const next = [from];
  while (next.length > 0) {
    const status = next.pop()!;
    if (status === to) return true;
    for (const move of TASK_STATUSES) {
      if (!seen.has(move) && canMove(status, move)) {
        seen.add(move);
        next.push(move);
      }
    }
  }
  return false;
}

/** The workload ended as the script says, every row got there by moves the table allows, and nothing finished changed. */
function expectFinished(crashed: FileState, final: FileState, where: string): void {
  expect(final.version, where).toBe(SCHEMA_VERSION);
  expect(final.schedules, `${where}: schedules left`).toEqual([]);
  const named = final.rows.filter((row) => row.type !== 'tick');
  expect(named.map((row) => row.name), `${where}: tasks`).toEqual(SCRIPT.map((task) => task.name));
  for (const [i, task] of SCRIPT.entries()) {
    expect(named[i]!.status, `${where}: ${task.name}`).toBe(task.status);
    expect(named[i]!.result, `${where}: result of ${task.name}`).toEqual(task.result);
  }
  const ticks = final.rows.filter((row) => row.type === 'tick');
  expect(ticks.length, `${where}: tick tasks`).toBeGreaterThanOrEqual(1);
  for (const tick of ticks) expect([tick.status, tick.result], `${where}: tick`).toEqual(['completed', 'tick']);
  const finalById = new Map(final.rows.map((row) => [row.id, row]));
  for (const before of crashed.rows) {
    const after = finalById.get(before.id);
    expect(after, `${where}: ${before.name ?? before.type} survives the reopen`).toBeDefined();
    const move = `${before.name ?? before.type}: ${before.status} -> ${after!.status}`;
    if (isFinished(before.status as TaskStatus)) {
      expect([after!.status, after!.result], `${where}: finished ${move}`).toEqual([before.status, before.result]);
    } else {
      expect(reachable(before.status as TaskStatus, after!.status as TaskStatus), `${where}: ${move}`).toBe(true);
    }
  }
}

interface CrashPoint {
  /** The switch's setting: after the k-th commit, or after the n-th of a kind (`<where>:n`). */
  at: string;
  database: string;
  /** Where the last commit before the kill was made, or undefined when the run ended first. */
  where: string | undefined;
  /** The file as the crash left it. */
  left: FileState;
}

/** Kills a host on a fresh file right after the commit `at` names, and checks what it left. */
async function crashAt(at: string): Promise<CrashPoint> {
  const database = tempDatabase();
  const commitLog = `${database}.commits`;
  const crashed = await runHost([database], { [CRASH_AFTER]: at, [COMMIT_LOG]: commitLog });
  const commits = commitsOf(commitLog).map((line) => line.split(' ')[1]!);
  const [kind, n] = at.includes(':') ? at.split(':') : [undefined, at];
  const counted = commits.filter((where) => kind === undefined || where === kind).length;
  if (crashed.signal === 'SIGKILL') {
    // Killed right after that commit: not one more.
    expect(counted, `at ${at}`).toBe(Number(n));
    if (kind !== undefined) expect(commits.at(-1), `at ${at}`).toBe(kind);
  } else {
    // This run's workload had fewer transactions (group commit follows the event loop).
    expect(exitOf(crashed), `at ${at}`).toEqual(CLEAN_EXIT);
    expect(counted, `at ${at}`).toBeLessThan(Number(n));
  }
  const where = crashed.signal === 'SIGKILL' ? commits.at(-1) : undefined;
  const left = existsSync(database) ? readFile(database) : { integrity: 'ok', version: 0, rows: [], schedules: [] };
  expectKeptPromises(left, database, `at ${at} (${where ?? 'not reached'}), as the crash left it`);
  return { at, database, where, left };
}

/** Reopens the files the crashes left, in two hosts, and checks each once they are done. */
async function reopenAndCheck(points: CrashPoint[]): Promise<void> {
  const halves = [points.filter((_, i) => i % 2 === 0), points.filter((_, i) => i % 2 === 1)].filter((half) => half.length > 0);
  const runs = await Promise.all(halves.map((half) => runHost(half.map((point) => point.database))));
  for (const run of runs) expect(exitOf(run), 'reopen').toEqual(CLEAN_EXIT);
  const lines = runs.flatMap((run) => run.stdout.split('\n').filter(Boolean));
  const reported = new Set(lines.map((line) => (JSON.parse(line) as { database: string }).database));
  for (const { at, database, where, left } of points) {
    const label = `at ${at} (${where ?? 'not reached'}), after the reopen`;
    expect(reported.has(database), label).toBe(true);
    const final = readFile(database);
    expectKeptPromises(final, database, label);
    expectFinished(left, final, label);
  }
}

describe('a crash at every commit point of the SQLite store', () => {
  it('keeps every promise made before it, and the reopened host finishes the workload', async () => {
    const started = performance.now();
    // A run without a crash: the workload's transactions, K, and where each commits.
    const database = tempDatabase();
    const commitLog = `${database}.commits`;
    const clean = await runHost([database], { [COMMIT_LOG]: commitLog });
    expect(exitOf(clean)).toEqual(CLEAN_EXIT);
    const final = readFile(database);
    expectKeptPromises(final, database, 'without a crash');
    expectFinished({ ...final, rows: [] }, final, 'without a crash');
    const points = commitsOf(commitLog).map((line) => line.split(' ')[1]!);
    const K = points.length;
    // Every kind of transaction of the workload is among them.
    expect(new Set(points)).toEqual(
      new Set(['migration', 'recovery', 'tasks', 'schedule-save', 'tick-claim', 'tick-record', 'schedule-remove']),
    );

    const swept = performance.now();
    const covered: CrashPoint[] = [];
    const ks = Array.from({ length: K }, (_, i) => String(i + 1));
    const lane = async (queue: string[]) => {
      for (let at = queue.shift(); at !== undefined; at = queue.shift()) covered.push(await crashAt(at));
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => lane(ks)));
    // Where a kind of commit falls among the others shifts from run to run (group commit
    // follows the turns of the event loop, the tick the clock), so a kind no k hit is hit by name.
    const missed = [...new Set(points)]
      .filter((kind) => !covered.some((point) => point.where === kind))
      .map((kind) => `${kind}:1`);
    const byName = [...missed];
    await Promise.all(Array.from({ length: PARALLEL }, () => lane(byName)));
    const reopened = performance.now();
    await reopenAndCheck(covered);

    const killed = covered.filter((point) => point.where !== undefined);
    const byKind = new Map<string, number>();
    for (const point of killed) byKind.set(point.where!, (byKind.get(point.where!) ?? 0) + 1);
    const seconds = (from: number, to = performance.now()) => `${((to - from) / 1000).toFixed(1)} s`;
    console.log(
      `crash points: K=${K} (${points.join(' ')}); killed at ${killed.length} ` +
        `(${[...byKind].map(([kind, n]) => `${n} ${kind}`).join(', ')}); ` +
        `not reached: ${covered.filter((point) => point.where === undefined).map((point) => point.at).join(' ') || 'none'}; ` +
        `by kind: ${missed.join(' ') || 'none'}; ${seconds(started)} (clean run ${seconds(started, swept)}, ` +
        `crashes ${seconds(swept, reopened)}, reopens ${seconds(reopened)})`,
    );
    // The last k or two may not be reached in a run with fewer batches; every kind of crash point must be.
    expect(killed.filter((point) => !point.at.includes(':')).length).toBeGreaterThanOrEqual(K - 3);
    expect(new Set(byKind.keys())).toEqual(new Set(points));
  }, 60_000);
});
