/** Output helpers of the CLI: aligned tables, durations, ages, JSON that never throws. */
import type { Task } from 'offthread';
import { cloneValueReplacer } from '../src/inspect/json-values.js';

export interface Column<Row> {
  header: string;
  value(row: Row): string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/** An aligned table: a header, a rule, a line per row; two spaces between columns. */
export function table<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) =>
    values.map((value, i) => (columns[i]!.right ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** '7d', '12h', '30m', '45s', '500ms', '1.5h', '0' -> milliseconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text.trim() === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** 1234 -> '1.23s', 95_000 -> '1m35s', 7_200_000 -> '2h0m'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
  return `${Math.floor(ms / 86_400_000)}d${Math.floor((ms % 86_400_000) / 3_600_000)}h`;
}

/** How long ago an epoch-ms time was: '12s ago'. */
export function ago(at: number | null, now = Date.now()): string {
  if (at === null) return '-';
  return `${formatDuration(Math.max(0, now - at)).replace(/\.\d+s$/, 's')} ago`;
}

/** A task's run time: start of its last run to its end (or to now while it runs). */
export function runTime(task: Task, now = Date.now()): string {
  if (task.startedAt === null) return '-';
  return formatDuration((task.completedAt ?? now) - task.startedAt);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function progress(task: Task): string {
  return `${Math.floor(task.progress)}%`;
}

/**
 * JSON for any stored value: payloads and results are structured-clone values, so BigInt,
 * Map, Set, typed arrays, Date and undefined are written as the nearest JSON.
 */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, cloneValueReplacer, indent);
}

/** The columns `ls` and `watch` print. */
export function taskColumns(now = Date.now()): Column<Task>[] {
  return [
    { header: 'ID', value: (t) => shortId(t.id) },
    { header: 'TYPE', value: (t) => t.type },
    { header: 'NAME', value: (t) => clip(t.name ?? '', 32) },
    { header: 'PRIORITY', value: (t) => t.priority },
    { header: 'STATUS', value: (t) => t.status },
    { header: 'PROGRESS', value: progress, right: true },
    { header: 'ATTEMPTS', value: (t) => String(t.attempts), right: true },
    { header: 'RUN TIME', value: (t) => runTime(t, now), right: true },
    { header: 'UPDATED', value: (t) => ago(t.updatedAt, now) },
  ];
}

export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
