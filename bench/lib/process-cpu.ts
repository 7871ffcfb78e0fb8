/**
 * CPU time used by processes, from Linux's /proc (undefined elsewhere): how the benchmarks on
 * a shared queue tell what the PostgreSQL server, the host processes and the producer each
 * spent per task.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times: 100 on every Linux the benchmarks run on. */
const TICKS = 100;

interface Stat {
  ppid: number;
  /** utime + stime: its own threads, ms. */
  self: number;
  /** cutime + cstime: its children that have exited and been waited for, ms. */
  reaped: number;
}

function stat(pid: number): Stat | undefined {
  try {
    // The command name may hold spaces: the fields after it start past the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ms = (i: number) => (Number(f[i]) * 1000) / TICKS;
    return { ppid: Number(f[1]), self: ms(11) + ms(12), reaped: ms(13) + ms(14) };
  } catch {
    return undefined;
  }
}

/** CPU ms a process has used so far, all its threads included. */
export function processCpuMs(pid: number): number | undefined {
  return stat(pid)?.self;
}

/**
 * CPU ms a process and its children have used so far: its own, its live children's, and its
 * exited children's (PostgreSQL's postmaster and its backends, one process per connection).
 */
export function treeCpuMs(pid: number): number | undefined {
  const root = stat(pid);
  if (!root) return undefined;
  let total = root.self + root.reaped;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const child = stat(Number(name));
    if (child?.ppid === pid) total += child.self;
  }
  return total;
}
