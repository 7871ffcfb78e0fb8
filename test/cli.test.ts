/**
 * The `offthread` CLI (dist/cli/offthread.js, built by `npm test`), run as a child process
 * against databases a runtime in the test prepared.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HANDLERS, openRuntime, tempDatabase } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/cli/offthread.js', import.meta.url));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A database with three finished tasks (completed, completed, failed) and a paused one. */
async function prepared(options: { keepOpen?: boolean; paused?: boolean } = {}) {
  const database = tempDatabase();
  const rt = await openRuntime({ database, concurrency: 1 });
  const added = await rt.submit('add', { a: 1, b: 2 }, { name: 'one plus two', priority: 'high' });
  await added.result();
  await (await rt.submit('echo', { hello: 'world' })).result();
  const failed = await rt.submit('fail', { message: 'boom' }, { priority: 'low' });
  await failed.result().catch(() => undefined);
  let paused: string | undefined;
  if (options.paused) {
    const held = await rt.submit('noop', undefined, { runAt: Date.now() + 3_600_000 });
    await rt.pause(held.id);
    paused = held.id;
  }
  if (!options.keepOpen) await rt.close();
  return { database, rt, added: added.id, failed: failed.id, paused };
}

describe('offthread CLI: reading', () => {
  it('ls prints an aligned table, and --json the tasks', async () => {
    const { database, added } = await prepared();
    const table = await cli('ls', '--db', database);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+NAME\s+PRIORITY\s+STATUS\s+PROGRESS/);
    expect(lines).toHaveLength(5); // header, rule, three tasks
    expect(lines[1]!.length).toBe(Math.max(...lines.map((line) => line.length))); // the rule spans every column
    expect(table.stdout).toContain(added.slice(0, 8));
    const json = JSON.parse((await cli('ls', '--db', database, '--json')).stdout);
    expect(json.map((t: { type: string }) => t.type)).toEqual(['fail', 'echo', 'add']);
    const filtered = JSON.parse((await cli('ls', '--db', database, '--json', '--status', 'completed', '--priority', 'high')).stdout);
    expect(filtered.map((t: { id: string }) => t.id)).toEqual([added]);
    expect(JSON.parse((await cli('ls', '--db', database, '--json', '--type', 'echo,fail', '--limit', '1')).stdout)).toHaveLength(1);
  });

  it('show prints one task (by id or a unique start of it); stats counts', async () => {
    const { database, added, failed } = await prepared();
    const shown = await cli('show', added.slice(0, 8), '--db', database);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^id\s+[0-9a-f-]{36}$/m);
    expect(shown.stdout).toMatch(/^result\s+3$/m);
    expect(shown.stdout).toMatch(/^name\s+one plus two$/m);
    expect(JSON.parse((await cli('show', failed, '--db', database, '--json')).stdout).error.code).toBe('ERR_TASK_FAILED');
    const missing = await cli('show', 'no-such-task', '--db', database);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no task "no-such-task"');
    const stats = await cli('stats', '--db', database);
    expect(stats.stdout).toMatch(/^completed\s+2$/m);
    expect(stats.stdout).toMatch(/^total\s+3$/m);
    expect(JSON.parse((await cli('stats', '--db', database, '--json')).stdout)).toMatchObject({ total: 3, completed: 2, failed: 1 });
  });

  it('reads a database a runtime has open (read-only, no lock)', async () => {
    const { database, rt } = await prepared({ keepOpen: true });
    const stats = JSON.parse((await cli('stats', '--db', database, '--json')).stdout);
    expect(stats.total).toBe(3);
    await rt.close();
  });

  it('a missing database is an error (exit 1) that names the file, and nothing is created', async () => {
    const database = tempDatabase();
    for (const command of ['ls', 'stats', 'watch', 'cleanup']) {
      const args = command === 'cleanup' ? [command, '--older-than', '1d'] : [command];
      const result = await cli(...args, '--db', database);
      expect(result.code, command).toBe(1);
      expect(result.stderr, command).toContain(database);
    }
    const show = await cli('show', 'abcd', '--db', database);
    expect(show.code).toBe(1);
    expect(readdirSync(dirname(database))).toEqual([]);
  });

  it('bad usage exits 2', async () => {
    const database = tempDatabase();
    expect((await cli()).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('ls', '--status', 'done', '--db', database)).code).toBe(2);
    expect((await cli('ls', '--limit', 'ten', '--db', database)).code).toBe(2);
    expect((await cli('ls', '--bogus')).code).toBe(2);
    expect((await cli('show')).code).toBe(2);
    expect((await cli('cleanup', '--db', database)).code).toBe(2); // --older-than is required
    expect((await cli('cleanup', '--older-than', 'soon', '--db', database)).code).toBe(2);
    expect((await cli('run', fileURLToPath(HANDLERS), 'add', '{not json', '--db', database)).code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
    expect(existsSync(database)).toBe(false);
  });
});

describe('offthread CLI: writing', () => {
  it('cleanup removes finished tasks older than the duration', async () => {
    const { database } = await prepared();
    const none = await cli('cleanup', '--older-than', '7d', '--db', database, '--json');
    expect(JSON.parse(none.stdout)).toEqual({ removed: 0 });
    const failedOnly = await cli('cleanup', '--older-than', '0', '--status', 'failed', '--db', database);
    expect(failedOnly.stdout).toContain('removed 1 finished task(s)');
    expect(JSON.parse((await cli('stats', '--db', database, '--json')).stdout)).toMatchObject({ total: 2, failed: 0 });
  });

  it('cleanup needs no handlers and leaves unfinished tasks alone; it refuses a locked file', async () => {
    // cleanup starts no runtime, so the file's unfinished tasks do not run: --handlers is
    // accepted and ignored, even naming a module that does not exist.
    const { database, paused } = await prepared({ paused: true });
    const done = await cli('cleanup', '--older-than', '0', '--db', database, '--handlers', join(dirname(database), 'no-such-handlers.js'), '--json');
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ removed: 3 });
    const ls = JSON.parse((await cli('ls', '--db', database, '--json')).stdout) as { id: string; status: string }[];
    expect(ls.map((t) => [t.id, t.status])).toEqual([[paused, 'paused']]);
    const again = await cli('cleanup', '--older-than', '0', '--db', database);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('removed 0 finished task(s)');

    const open = await prepared({ keepOpen: true });
    const locked = await cli('cleanup', '--older-than', '0', '--db', open.database);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('ERR_STORE_LOCKED');
    expect(locked.stderr).toContain(open.database);
    await open.rt.close();
  });

  it('run submits a task, shows its progress and exits 0, or 1 when it fails', async () => {
    const database = tempDatabase();
    const ok = await cli('run', fileURLToPath(HANDLERS), 'steps', '{"count":4}', '--db', database);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('result: 4');
    expect(ok.stderr).toContain('100% step 4 of 4');
    const failed = await cli('run', fileURLToPath(HANDLERS), 'fail', '{"message":"boom"}', '--db', database);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('boom');
    const unknown = await cli('run', fileURLToPath(HANDLERS), 'nope', '--db', database);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no task type "nope"');
    const json = JSON.parse((await cli('run', fileURLToPath(HANDLERS), 'add', '{"a":2,"b":3}', '--db', database, '--json')).stdout);
    expect(json).toMatchObject({ status: 'completed', result: 5 });
  });
});

describe('offthread CLI: watch', () => {
  it('prints a line when another process changes the database', async () => {
    const { database } = await prepared();
    const child = spawn(process.execPath, [CLI, 'watch', '--db', database], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      const waiters: Array<() => void> = [];
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        for (const wake of waiters.splice(0)) wake();
      });
      const waitFor = async (text: string) => {
        while (!output.includes(text)) await new Promise<void>((resolve) => waiters.push(resolve));
      };
      await waitFor('total=3');
      const rt = await openRuntime({ database, concurrency: 1 });
      const handle = await rt.submit('echo', 'watched');
      await handle.result();
      await waitFor(`${handle.id} echo - completed 100%`);
      await rt.close();
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
