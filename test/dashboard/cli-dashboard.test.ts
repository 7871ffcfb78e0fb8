/// <reference lib="dom" />
/**
 * `offthread dashboard` as a child process on a SQLite file a runtime of the test has open:
 * read-only pages that still follow the file live, and no action anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gates, openRuntime, submitAtGate, tempDatabase } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';
import { launchBrowser, openPage } from './browser.js';

const CLI = fileURLToPath(new URL('../../dist/cli/offthread.js', import.meta.url));

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Starts the command and resolves with the URL it prints. */
function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'dashboard', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const url = /^(http:\/\/\S+)$/m.exec(out)?.[1];
      if (url !== undefined) resolve({ child, url, output: () => out });
    });
    child.once('exit', (code) => reject(new Error(`offthread dashboard exited with ${code}: ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe('offthread dashboard on a SQLite file', () => {
  it('is read-only: the page says so, shows no action, and the API refuses them', async () => {
    const gates = new Gates();
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1, services: gates.services });
    const blocker = await submitAtGate(rt, { gate: 'cli' });
    const queued = await rt.submit('echo', 'waiting', { name: 'queued one' });
    const failed = await rt.submit('fail', { message: 'boom' }, { priority: 'high' }); // runs after the blocker
    const { child, url, output } = await serve(['--db', database]);
    try {
      expect(output()).toContain('read-only');
      const { page, errors } = await openPage(browser, url);
      expect(await page.textContent('#mode')).toBe('read-only');
      expect(await page.textContent('[data-count="running"]')).toBe('1');
      expect(await page.textContent('[data-count="queued"]')).toBe('2');
      expect(await page.locator('button').count()).toBe(0);

      await page.goto(`${url}tasks/${queued.id}`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await page.textContent('[data-field="name"]')).toBe('queued one');
      expect(await page.locator('button').count()).toBe(0);
      await page.goto(`${url}tasks`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await page.locator('#tasks tbody tr[data-id]').count()).toBe(3);
      expect(await page.locator('button[data-bulk]').count()).toBe(0);

      const info = (await (await fetch(`${url}api/info`)).json()) as { csrf: string; readOnly: boolean };
      expect(info.readOnly).toBe(true);
      const refused = await fetch(`${url}api/tasks/${queued.id}/cancel`, { method: 'POST', headers: { 'x-offthread-csrf': info.csrf } });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_READ_ONLY');
      expect((await rt.get(queued.id))!.status).toBe('queued');

      // The other process's progress reaches the open page without a reload.
      await page.goto(url);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      gates.open('cli');
      await blocker.result();
      await failed.result().catch(() => undefined);
      await rt.whenIdle();
      await page.waitForFunction(() => document.querySelector('[data-count="failed"]')?.textContent === '1' && document.querySelector('[data-count="queued"]')?.textContent === '0');
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      expect(await stop(child)).toBe(0);
      await rt.close();
    }
  });

  it('refuses another host without a token, and a missing file, with exit 1', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1 });
    await rt.close();
    await expect(serve(['--db', database, '--host', '0.0.0.0'])).rejects.toThrow(/exited with 1: offthread: ERR_INVALID_OPTION: .*token/);
    await expect(serve(['--db', `${database}.missing`])).rejects.toThrow(/exited with 1: offthread: no database at/);
  });
});

describe('offthread dashboard on a PostgreSQL queue', () => {
  it('joins the queue without running anything, and its page pauses, resumes and cancels', async () => {
    const database = await freshDatabase();
    // A producer-only host: the task it submits stays queued, as no host runs anything.
    const rt = await openRuntime({ database, concurrency: 0 });
    const task = await rt.submit('echo', 'held', { name: 'on the queue' });
    const { child, url, output } = await serve(['--db', database]);
    try {
      expect(output()).toContain('queue default, with actions');
      const password = new URL(database).password;
      expect(password).not.toBe('');
      expect(output()).not.toContain(password);
      const { page, errors } = await openPage(browser, `${url}tasks/${task.id}`);
      expect(await page.textContent('#mode')).toBe('');
      const status = (value: string) => page.waitForFunction((s) => document.querySelector('[data-field="status"]')?.textContent === s, value);
      await page.click('#task-actions button[data-action="pause"]');
      await status('paused');
      expect((await rt.get(task.id))!.status).toBe('paused');
      await page.click('#task-actions button[data-action="resume"]');
      await status('queued');
      await page.click('#task-actions button[data-action="cancel"]');
      await status('cancelled');
      expect((await rt.get(task.id))!.status).toBe('cancelled');
      // Without --handlers it knows no task type, so it offers no retry.
      expect(await page.locator('#task-actions button').count()).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      expect(await stop(child)).toBe(0);
      await rt.close();
    }
  });
});
