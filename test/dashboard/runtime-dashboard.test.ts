/// <reference lib="dom" />
/**
 * rt.dashboard() in a real browser (headless Chromium): the overview's live counts, the
 * task list's filters, actions from the page checked in the store, and task data shown as
 * text whatever it holds.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Observable } from 'rxjs';
import type { TaskEvent } from 'offthread';
import { openDashboard } from '../../src/dashboard/server.js';
import { runtimeSource } from '../../src/dashboard/source.js';
import { Gates, nextEvent, openRuntime, submitAtGate } from '../helpers.js';
import { launchBrowser, openPage, screenshot } from './browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const XSS = '<img src=x onerror=alert(1)>';

describe('dashboard of a live runtime', () => {
  it('the overview shows the counts per status, and they change live', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const dash = await rt.dashboard();
    try {
      const running = await submitAtGate(rt, { gate: 'overview' });
      await rt.submit('noop', undefined, { name: 'waits its turn' });
      const { page, errors } = await openPage(browser, dash.url);
      const count = (status: string) => page.textContent(`[data-count="${status}"]`);
      expect(await count('running')).toBe('1');
      expect(await count('queued')).toBe('1');
      expect(await page.textContent(`#running tr[data-id="${running.id}"] .message`)).toBe('waiting at the gate');
      expect(await page.getAttribute(`#running tr[data-id="${running.id}"] progress`, 'value')).toBe('10');
      expect(await page.textContent('#threads')).toBe('Threads in use: 1 of 1');
      expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
      await screenshot(page, 'overview-running');

      gates.open('overview');
      await rt.whenIdle();
      await page.waitForFunction(
        () => document.querySelector('[data-count="completed"]')?.textContent === '2' && document.querySelector('[data-count="running"]')?.textContent === '0',
      );
      await page.waitForFunction(() => document.querySelector('#metrics tbody')?.textContent?.includes('type gated'));
      expect(errors).toEqual([]);
      await screenshot(page, 'overview');
      await page.close();
    } finally {
      await dash.close();
      await rt.close();
    }
  });

  it('the schedules page lists each schedule with its cron, zone, next run and type; Run now starts its task', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard();
    try {
      const info = await rt.schedule('nightly', '0 3 * * *', 'echo', 'from the page', { timezone: 'Europe/Berlin' });
      const { page } = await openPage(browser, `${dash.url}schedules`);
      const cells = await page.$$eval('#schedules tr[data-schedule="nightly"] td', (tds) => tds.map((td) => td.textContent));
      expect(cells.slice(0, 4)).toEqual(['nightly', '0 3 * * *', 'Europe/Berlin', 'echo']);
      expect(cells[4]).toBe(await page.evaluate((at) => new Date(at).toLocaleString(), info.nextRunAt!));
      const completed = nextEvent(rt.events$, 'completed');
      await page.click('#schedules tr[data-schedule="nightly"] button[data-action="run"]');
      expect((await completed).result).toBe('from the page');
      const [after] = await rt.schedules();
      expect(after).toMatchObject({ lastTaskId: (await completed).taskId, nextRunAt: info.nextRunAt });
      // The page shows the run as the schedule's last task once it has heard of it.
      await page.waitForFunction((id) => document.querySelector('#schedules tr[data-schedule="nightly"] td.id a')?.textContent === id.slice(0, 8), after!.lastTaskId!);
      await page.close();
    } finally {
      await rt.close();
    }
  });

  it('the task list filters by status, type, priority and text, and pages by cursor', async () => {
    const rt = await openRuntime({ concurrency: 2 });
    const dash = await rt.dashboard();
    try {
      const echoes = [];
      for (let i = 0; i < 3; i++) echoes.push(await rt.submit('echo', i, { name: `echo number ${i}`, priority: i === 0 ? 'high' : 'low' }));
      const failed = await rt.submit('fail', { message: 'boom' }, { name: 'doomed' });
      await failed.result().catch(() => undefined);
      await rt.whenIdle();
      const rows = (page: import('playwright-core').Page) => page.$$eval('#tasks tbody tr[data-id]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id));

      const { page } = await openPage(browser, `${dash.url}tasks?type=echo`);
      expect(await rows(page)).toEqual(echoes.map((e) => e.id).reverse());
      await page.selectOption('select[name=status]', 'failed');
      await page.fill('input[name=type]', '');
      await page.click('#filters button[type=submit]');
      await page.waitForURL(/status=failed/);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await rows(page)).toEqual([failed.id]);

      await page.goto(`${dash.url}tasks?priority=high`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await rows(page)).toEqual([echoes[0]!.id]);
      await page.goto(`${dash.url}tasks?q=${encodeURIComponent('number 1')}`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await rows(page)).toEqual([echoes[1]!.id]);
      await page.goto(`${dash.url}tasks?q=${failed.id.slice(0, 8)}`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await rows(page)).toEqual([failed.id]);
      await page.close();
    } finally {
      await rt.close();
    }
  });

  it('Cancel on the page cancels a running task', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    await rt.dashboard(); // closed by rt.close(), as any other
    const dash = await rt.dashboard();
    try {
      const task = await submitAtGate(rt, { gate: 'never' });
      const { page, errors } = await openPage(browser, `${dash.url}tasks/${task.id}`);
      const cancelled = nextEvent(rt.events$, 'cancelled', task.id);
      await page.click('#task-actions button[data-action="cancel"]');
      await cancelled;
      expect((await rt.get(task.id))!.status).toBe('cancelled');
      // The page follows: the status shows, and Cancel gives way to Retry.
      await page.waitForFunction(() => document.querySelector('[data-field="status"]')?.textContent === 'cancelled');
      expect(await page.locator('#task-actions button[data-action="retry"]').count()).toBe(1);
      expect(await page.locator('#timeline [data-event="cancelled"]').count()).toBe(1);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await rt.close();
    }
  });

  it('pauses, resumes and re-prioritizes a queued task from the page', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const dash = await rt.dashboard();
    try {
      await submitAtGate(rt, { gate: 'blocker' });
      const queued = await rt.submit('echo', 'later', { name: 'queued behind' });
      const { page } = await openPage(browser, `${dash.url}tasks/${queued.id}`);
      const status = (value: string) => page.waitForFunction((s) => document.querySelector('[data-field="status"]')?.textContent === s, value);

      await page.click('#task-actions button[data-action="pause"]');
      await status('paused');
      expect((await rt.get(queued.id))!.status).toBe('paused');

      await page.selectOption('#task-actions select', 'high');
      await page.click('#task-actions button[data-action="priority"]');
      await page.waitForFunction(() => document.querySelector('[data-field="priority"]')?.textContent === 'high');
      expect((await rt.get(queued.id))!.priority).toBe('high');

      await page.click('#task-actions button[data-action="resume"]');
      await status('queued');
      expect((await rt.get(queued.id))!.status).toBe('queued');
      gates.open('blocker');
      await queued.result();
      await status('completed');
      expect(await page.locator('#task-actions button').count()).toBe(0);
      await page.close();
    } finally {
      await rt.close();
    }
  });

  it('follows the events of the runtime only while a page listens; a page nobody sees does not listen', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    // The runtime's events$, counting who follows it; each change of the count is told.
    let following = 0;
    let told: () => void = () => undefined;
    const followers = (count: number) => new Promise<void>((resolve) => (told = () => following === count && resolve()));
    const events$ = new Observable<TaskEvent>((subscriber) => {
      following++;
      told();
      const subscription = rt.events$.subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        following--;
        told();
      };
    });
    const unused = () => Promise.reject(new Error('not asked in this test'));
    const dash = await openDashboard({ ...runtimeSource(rt, ':memory:', 1, { search: unused, findByPrefix: unused }), events$ });
    try {
      await rt.submit('noop');
      await rt.whenIdle();
      expect(following).toBe(0);
      const listening = followers(1);
      const { page, errors } = await openPage(browser, dash.url);
      await listening;
      expect(await page.textContent('[data-count="completed"]')).toBe('1');

      // Hidden (a background tab): its stream closes, and the dashboard follows nothing.
      const stopped = followers(0);
      await page.evaluate(() => {
        Object.defineProperty(document, 'hidden', { value: true, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await stopped;
      await (await rt.submit('noop')).result();

      // Shown again: it listens, and reads what changed meanwhile.
      const again = followers(1);
      await page.evaluate(() => {
        Object.defineProperty(document, 'hidden', { value: false, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await again;
      await page.waitForFunction(() => document.querySelector('[data-count="completed"]')?.textContent === '2');
      const closed = followers(0);
      await page.close();
      await closed;
      expect(errors).toEqual([]);
    } finally {
      await dash.close();
      await rt.close();
    }
  });

  it('a task paused at a checkpoint shows the state its handler saved, as JSON text', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const dash = await rt.dashboard();
    try {
      const state = { done: 41, of: 100, note: XSS };
      const task = await rt.submit('checkpointAtGate', { state, gate: 'checkpoint' });
      await gates.reached('checkpoint');
      const paused = rt.pause(task.id);
      gates.open('checkpoint');
      await paused;
      expect(await rt.get(task.id)).toMatchObject({ status: 'paused', checkpoint: state });

      const { page, dialogs, errors } = await openPage(browser, `${dash.url}tasks/${task.id}`);
      expect(await page.textContent('[data-field="status"]')).toBe('paused');
      expect(await page.textContent('#checkpoint')).toBe(JSON.stringify(state, null, 2));
      expect(await page.locator('main img').count()).toBe(0);

      // Resumed, it completes, and a completed task keeps no checkpoint: the page drops it.
      await page.click('#task-actions button[data-action="resume"]');
      await task.result();
      await page.waitForFunction(() => document.querySelector('[data-field="status"]')?.textContent === 'completed');
      expect(await page.locator('#checkpoint').count()).toBe(0);
      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await rt.close();
    }
  });

  it('shows task data as text: markup in a name, payload or error runs nothing', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard();
    try {
      const task = await rt.submit('fail', { message: XSS, note: XSS }, { name: XSS, description: XSS });
      await task.result().catch(() => undefined);
      const { page, dialogs, errors } = await openPage(browser, `${dash.url}tasks/${task.id}`);
      expect(await page.textContent('#task-title')).toBe(XSS);
      expect(await page.textContent('#error-message')).toBe(XSS);
      expect(await page.textContent('#payload')).toContain(`"note": "${XSS}"`);
      expect(await page.locator('main img').count()).toBe(0);

      await page.goto(`${dash.url}tasks`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      expect(await page.textContent(`#tasks tr[data-id="${task.id}"] td.name`)).toBe(XSS);
      expect(await page.locator('main img').count()).toBe(0);

      // Retry submits the same type and payload as a new task, and opens it.
      await page.goto(`${dash.url}tasks/${task.id}`);
      await page.waitForFunction(() => document.body.dataset.updated !== undefined);
      await screenshot(page, 'task');
      await page.click('#task-actions button[data-action="retry"]');
      await page.waitForURL((url) => url.pathname.startsWith('/tasks/') && !url.pathname.endsWith(task.id));
      const retriedId = decodeURIComponent(new URL(page.url()).pathname.slice('/tasks/'.length));
      expect(await rt.get(retriedId)).toMatchObject({ type: 'fail', payload: { message: XSS, note: XSS }, name: XSS });

      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await rt.close();
    }
  });
});
