/** What every command shares: option parsers, the error the CLI prints, opening a database. */
import { InvalidArgumentError, type Command } from 'commander';
import { OffthreadError, StoreNotFoundError, openInspector, type TaskInspector, type TaskStatus } from '../src/index.js';
import { parseDuration } from './format.js';

export const DEFAULT_DB = './offthread-demo.db';
export const FINISHED: TaskStatus[] = ['completed', 'failed', 'cancelled'];
export const UNFINISHED: TaskStatus[] = ['queued', 'running', 'paused'];

/** An error for the user: its message is printed as it is, then the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** An OffthreadError as the CLI reports it (exit 1): its code, then its message. Others are left as they are. */
export function cliError(error: unknown): unknown {
  if (error instanceof StoreNotFoundError) {
    return new CliError(`offthread: no database at ${error.file} (${error.resolved}); nothing was created. Pass --db PATH to name another file.`);
  }
  if (error instanceof OffthreadError) return new CliError(`offthread: ${error.code}: ${error.message}`);
  return error;
}

/** An inspector on `path` (read-only, no owner lock; a missing file is an error, never created). */
export async function openForCli(path: string): Promise<TaskInspector> {
  try {
    return await openInspector(path);
  } catch (error) {
    throw cliError(error);
  }
}

/** Runs `use` with an inspector on `path`, and closes it. */
export async function withInspector<T>(path: string, use: (inspector: TaskInspector) => Promise<T>): Promise<T> {
  const inspector = await openForCli(path);
  try {
    return await use(inspector);
  } catch (error) {
    throw cliError(error);
  } finally {
    await inspector.close();
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

// ---------------------------------------------------------------------------------------
// Option parsing

export interface Common {
  db: string;
  json?: boolean;
}

export function withCommon(command: Command, what = 'SQLite file of the tasks, or the postgres:// URL of a queue'): Command {
  return command.option('--db <path>', what, DEFAULT_DB).option('--json', 'print JSON for scripts instead of a table');
}

export function listOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const values = value.split(',').map((v) => v.trim()).filter(Boolean);
    for (const v of values) {
      if (!allowed.includes(v as T)) throw new InvalidArgumentError(`"${v}" is not a ${name}; expected ${allowed.join(', ')}.`);
    }
    if (values.length === 0) throw new InvalidArgumentError(`expected one or more of ${allowed.join(', ')}, comma-separated.`);
    return values as T[];
  };
}

export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}".`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = wholeNumber(value);
  if (n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}".`);
  return n;
}

export function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration like 7d, 12h, 30m, 45s or 500ms, got "${value}".`);
  return ms;
}

export function json(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected JSON, got ${value}: ${(error as Error).message}`);
  }
}
