import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { openRuntime, tempDatabase } from '../helpers.js';

const HOST = new URL('../fixtures/kill-host.js', import.meta.url).pathname;
const TASKS = 40;

/**
 * Runs one host incarnation. With `killAfter`, SIGKILLs it once it has reported that many
 * committed completions and then a handler under way (so the kill interrupts real work), or
 * lets it end if it gets to idle first. Returns the ids it reported as committed.
 */
async function incarnation(database: string, log: string, n: number, killAfter?: number): Promise<string[]> {
  const child = spawn(process.execPath, [HOST, database, String(TASKS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SOAK_LOG: log, SOAK_INCARNATION: String(n) },
  });
  const exited = once(child, 'exit');
  const done: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('done ')) done.push(line.slice(5));
    if (line === 'idle') break;
    if (killAfter !== undefined && done.length >= killAfter && line.startsWith('running ')) {
      child.kill('SIGKILL');
      break;
    }
  }
  await exited;
  return done;
}

describe('at-least-once, proved with SIGKILL', () => {
  it('a host killed at random points three times finishes every task; nothing committed runs again', async () => {
    const database = tempDatabase();
    const log = `${database}.log`;
    writeFileSync(log, '');
    const committedIn = new Map<string, number>();
    for (let n = 1; n <= 4; n++) {
      const killAfter = n <= 3 ? 1 + Math.floor(Math.random() * 6) : undefined;
      for (const id of await incarnation(database, log, n, killAfter)) if (!committedIn.has(id)) committedIn.set(id, n);
    }

    const rt = await openRuntime({ database, handlers: new URL('../../dist/soak/handlers.js', import.meta.url) });
    const tasks = await rt.list({ limit: 1000 });
    expect(tasks).toHaveLength(TASKS);
    expect(tasks.every((t) => t.status === 'completed')).toBe(true);
    await rt.close();

    const runs = readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' '));
    for (const task of tasks) {
      const starts = runs.filter(([kind, id]) => kind === 'start' && id === task.id).map(([, , n]) => Number(n));
      const ends = runs.filter(([kind, id]) => kind === 'end' && id === task.id);
      expect(ends.length).toBeGreaterThanOrEqual(1);
      // Once its completion was committed, a task never started again in a later host.
      const committed = committedIn.get(task.id);
      if (committed !== undefined) expect(starts.filter((n) => n > committed)).toEqual([]);
      // attempts counts runs as the host started them: a kill can fall between that and the
      // handler's first line (counted, not logged) or before the count was written (logged,
      // not counted), at most once per killed host.
      expect(task.attempts).toBeGreaterThanOrEqual(1);
      expect(Math.abs(task.attempts - starts.length)).toBeLessThanOrEqual(3);
    }
    // The kills did interrupt work: some task ran more than once.
    expect(runs.filter(([kind]) => kind === 'start').length).toBeGreaterThan(TASKS);
  });
});
