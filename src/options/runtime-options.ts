/**
 * TaskRuntime.open's options: checked, with their defaults filled in. The caller's objects
 * are never mutated (what is kept is a copy).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';
import { DEFAULT_FILE_MODE } from '../store/file-mode.js';
import type { GroupLimits, RuntimeOptions } from '../types.js';
import { checkGroups } from './limit-options.js';
import {
  checkConcurrency,
  checkDurable,
  checkMaxPayloadBytes,
  checkMaxTasksPerThread,
  checkNumber,
  checkOneOf,
  checkPositiveMs,
  checkTimeoutMs,
  describe,
  rejectUnknownKeys,
} from './checks.js';

export interface ResolvedRuntimeOptions {
  /** The handlers module as a file: (or other) URL the worker threads can import. */
  handlers: string;
  database: string;
  /** The mode of the files a SQLite store creates. */
  fileMode: number;
  /** Set for a queue on PostgreSQL (a `postgres://` database), null for a SQLite file. */
  shared: { queue: string; leaseMs: number } | null;
  concurrency: number;
  progressIntervalMs: number;
  cancelGraceMs: number;
  resourceLimits: ResourceLimits | undefined;
  niceIncrement: number;
  services: Record<string, (...args: any[]) => unknown>;
  timeoutMs: number | null;
  durability: 'normal' | 'full';
  /** Whether a task is stored unless its type or its submit says otherwise. */
  durable: boolean;
  metricsIntervalMs: number;
  agingMs: number | null;
  /** Limits by group; `default` for groups without their own. */
  groups: Record<string, GroupLimits>;
  maxTasksPerThread: number | null;
  maxPayloadBytes: number;
  retention: { completed?: number; failed?: number; cancelled?: number };
  /** Spans per run when `@opentelemetry/api` is installed (src/telemetry/task-spans.ts). */
  tracing: boolean;
}

export const RUNTIME_DEFAULTS = {
  database: ':memory:',
  concurrency: 4,
  progressIntervalMs: 50,
  cancelGraceMs: 1000,
  niceIncrement: 10,
  maxPayloadBytes: 16 * 1024 * 1024,
} as const;

const RUNTIME_KEYS = [
  'handlers',
  'database',
  'queue',
  'leaseMs',
  'fileMode',
  'concurrency',
  'progressIntervalMs',
  'cancelGraceMs',
  'resourceLimits',
  'niceIncrement',
  'services',
  'timeoutMs',
  'durability',
  'durable',
  'metricsIntervalMs',
  'agingMs',
  'groups',
  'maxTasksPerThread',
  'maxPayloadBytes',
  'retention',
  'tracing',
];
const RESOURCE_LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
const RETENTION_KEYS = ['completed', 'failed', 'cancelled'];
const DURABILITIES: readonly ResolvedRuntimeOptions['durability'][] = ['normal', 'full'];

function handlersUrl(value: unknown): string {
  if (value instanceof URL) return value.href;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError('handlers', `expected a module URL or a file path, got ${describe(value)}.`);
  }
  if (/^(file|data|node):/.test(value)) return value;
  return pathToFileURL(isAbsolute(value) ? value : resolve(value)).href;
}

export function resolveRuntimeOptions(options: RuntimeOptions): ResolvedRuntimeOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `TaskRuntime.open expects an options object with "handlers", got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, RUNTIME_KEYS, 'TaskRuntime.open');
  const database = options.database ?? RUNTIME_DEFAULTS.database;
  if (typeof database !== 'string' || database.length === 0) {
    throw new InvalidOptionError('database', `expected a file path or ':memory:', got ${describe(database)}.`);
  }
  const shared = checkShared(database, options);
  const services = options.services ?? {};
  if (typeof services !== 'object' || services === null) {
    throw new InvalidOptionError('services', `expected an object of functions, got ${describe(services)}.`);
  }
  for (const [name, fn] of Object.entries(services)) {
    if (typeof fn !== 'function') throw new InvalidOptionError(`services.${name}`, `expected a function, got ${describe(fn)}.`);
  }
  const limits = options.resourceLimits;
  if (limits !== undefined) {
    if (typeof limits !== 'object' || limits === null) {
      throw new InvalidOptionError('resourceLimits', `expected an object, got ${describe(limits)}.`);
    }
    rejectUnknownKeys(limits, RESOURCE_LIMIT_KEYS, 'resourceLimits');
    for (const [key, value] of Object.entries(limits)) checkNumber(`resourceLimits.${key}`, value, { min: 1 });
  }
  const durability = checkOneOf('durability', options.durability ?? 'normal', DURABILITIES);
  const durable = options.durable === undefined ? true : checkDurable(options.durable);
  // A task that is not stored runs on the host that submits it, and this one runs none.
  if (!durable && shared !== null && options.concurrency === 0) {
    throw new InvalidOptionError('durable', 'a producer-only host (concurrency 0) runs no tasks, and a task that is not durable can run only on the host that submits it.');
  }
  return {
    handlers: handlersUrl(options.handlers),
    timeoutMs: options.timeoutMs === undefined ? null : checkTimeoutMs(options.timeoutMs),
    durability,
    durable,
    metricsIntervalMs: options.metricsIntervalMs === undefined ? 1000 : checkPositiveMs('metricsIntervalMs', options.metricsIntervalMs),
    agingMs: options.agingMs === undefined ? null : checkPositiveMs('agingMs', options.agingMs),
    groups: checkGroups(options.groups),
    maxTasksPerThread: options.maxTasksPerThread === undefined ? null : checkMaxTasksPerThread(options.maxTasksPerThread),
    maxPayloadBytes: checkMaxPayloadBytes(options.maxPayloadBytes ?? RUNTIME_DEFAULTS.maxPayloadBytes),
    retention: checkRetention(options.retention),
    database,
    shared,
    fileMode: checkFileMode(options.fileMode),
    concurrency: shared !== null && options.concurrency === 0 ? 0 : checkConcurrency(options.concurrency ?? RUNTIME_DEFAULTS.concurrency),
    progressIntervalMs: checkNumber('progressIntervalMs', options.progressIntervalMs ?? RUNTIME_DEFAULTS.progressIntervalMs, { min: 0 }),
    cancelGraceMs: checkNumber('cancelGraceMs', options.cancelGraceMs ?? RUNTIME_DEFAULTS.cancelGraceMs, { min: 0 }),
    resourceLimits: limits === undefined ? undefined : { ...limits },
    niceIncrement: niceIncrement(options.niceIncrement ?? RUNTIME_DEFAULTS.niceIncrement),
    services: { ...services },
    tracing: checkTracing(options.tracing),
  };
}

function checkTracing(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new InvalidOptionError('tracing', `expected true or false, got ${describe(value)}.`);
  return value;
}

/** A `postgres:` URL opens a shared queue: its name and lease; other options are for it alone. */
function checkShared(database: string, options: RuntimeOptions): ResolvedRuntimeOptions['shared'] {
  if (!/^postgres(ql)?:\/\//i.test(database)) {
    for (const key of ['queue', 'leaseMs'] as const) {
      if (options[key] !== undefined) throw new InvalidOptionError(key, 'applies to a queue on PostgreSQL only (a postgres:// database).');
    }
    return null;
  }
  if (options.fileMode !== undefined) throw new InvalidOptionError('fileMode', 'applies to a SQLite file only: PostgreSQL keeps its own files.');
  const queue = options.queue ?? 'default';
  if (typeof queue !== 'string' || queue.length === 0 || queue.length > 200) {
    throw new InvalidOptionError('queue', `expected a name of 1 to 200 characters, got ${describe(queue)}.`);
  }
  // Renewed every third of it: below a second, a busy host or a slow round trip would lose leases.
  const leaseMs = checkNumber('leaseMs', options.leaseMs ?? 30_000, { min: 1000, integer: true });
  return { queue, leaseMs };
}

function checkFileMode(value: unknown): number {
  if (value === undefined) return DEFAULT_FILE_MODE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0o777) {
    throw new InvalidOptionError('fileMode', `expected permission bits from 0 to 0o777 (such as 0o600), got ${describe(value)}.`);
  }
  if ((value & 0o600) !== 0o600) {
    throw new InvalidOptionError('fileMode', `the owner must be able to read and write the files (0o600 at least), got 0o${value.toString(8)}.`);
  }
  return value;
}

/** 19 is the lowest priority a Unix thread can have; larger increments would be clamped to it. */
function niceIncrement(value: unknown): number {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 19;
  if (!ok) {
    throw new InvalidOptionError('niceIncrement', `expected an integer from 0 (worker threads at the main thread's priority) to 19 (lowest), got ${describe(value)}.`);
  }
  return value as number;
}

function checkRetention(value: unknown): { completed?: number; failed?: number; cancelled?: number } {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('retention', `expected { completed?, failed?, cancelled? } in ms, got ${describe(value)}.`);
  }
  rejectUnknownKeys(value, RETENTION_KEYS, 'retention');
  const retention: Record<string, number> = {};
  for (const [status, ms] of Object.entries(value)) {
    if (ms !== undefined) retention[status] = checkNumber(`retention.${status}`, ms, { min: 0 });
  }
  return retention;
}
