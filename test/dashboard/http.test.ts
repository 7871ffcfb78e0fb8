/**
 * The dashboard's HTTP side without a browser: the token on every route, actions refused
 * across sites, safe defaults, the Prometheus text, keyset paging and the JSON errors.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { TaskRuntime } from 'offthread';
import { Gates, openRuntime, submitAtGate } from '../helpers.js';

const TOKEN = 'a-secret-token-for-tests';

async function info(base: string, headers: Record<string, string> = {}): Promise<{ csrf: string }> {
  return (await (await fetch(`${base}api/info`, { headers })).json()) as { csrf: string };
}

/** node:http, as fetch will not send a Host header of its own choosing. */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject).end();
  });
}

function post(url: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe('dashboard over HTTP', () => {
  it('with a token: every route answers 401 without it or with a wrong one; Bearer and the cookie from ?token= pass', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard({ token: TOKEN });
    try {
      expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=a-secret-token-for-tests$/);
      const base = dash.url.replace(/\?token=.*$/, '');
      for (const path of ['', 'tasks', 'tasks/abc', 'schedules', 'assets/app.js', 'assets/uplot.esm.js', 'api/info', 'api/overview', 'api/tasks', 'api/stream', 'metrics']) {
        const missing = await fetch(`${base}${path}`);
        expect(missing.status, path).toBe(401);
        expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('ERR_UNAUTHORIZED');
        expect((await fetch(`${base}${path}?token=wrong-token-wrong-token`)).status, path).toBe(401);
        expect((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, path).toBe(401);
        expect((await fetch(`${base}${path}`, { headers: { cookie: 'offthread_dashboard=wrong' } })).status, path).toBe(401);
      }
      expect((await post(`${base}api/tasks/abc/cancel`, {})).status).toBe(401);
      expect((await fetch(`${base}metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

      // ?token= on a page sets the cookie and takes the token out of the address bar.
      const first = await fetch(dash.url, { redirect: 'manual' });
      expect(first.status).toBe(303);
      expect(first.headers.get('location')).toBe('/');
      const cookie = first.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^offthread_dashboard=a-secret-token-for-tests; HttpOnly; SameSite=Strict; Path=\//);
      const withCookie = await fetch(`${base}api/overview`, { headers: { cookie: cookie.split(';')[0]! } });
      expect(withCookie.status).toBe(200);
    } finally {
      await rt.close();
    }
  });

  it('refuses another host without a token (ERR_INVALID_OPTION), and a port in use (ERR_DASHBOARD_LISTEN)', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    try {
      await expect(rt.dashboard({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'token' });
      await expect(rt.dashboard({ token: 'short' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'token' });
      await expect(rt.dashboard({ port: 70000 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'port' });
      await expect(rt.dashboard({ prot: 1 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as { port: number }).port;
      try {
        const error = await rt.dashboard({ port }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_DASHBOARD_LISTEN', name: 'DashboardListenError' });
        expect((error as Error).message).toContain(`127.0.0.1:${port}: the port is in use. Pass another { port }, or port 0`);
      } finally {
        taken.close();
      }
    } finally {
      await rt.close();
    }
  });

  it('actions need the CSRF header and a same-origin request; pages carry a strict CSP; other Host names are refused', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ concurrency: 1, services: gates.services });
    const dash = await rt.dashboard();
    try {
      const blocker = await submitAtGate(rt, { gate: 'csrf' });
      const queued = await rt.submit('echo', 1);
      const { csrf } = await info(dash.url);
      const cancel = `${dash.url}api/tasks/${queued.id}/cancel`;
      expect((await post(cancel, {})).status).toBe(403);
      expect((await post(cancel, { 'x-offthread-csrf': 'guessed' })).status).toBe(403);
      expect((await post(cancel, { 'x-offthread-csrf': csrf, origin: 'http://evil.example' })).status).toBe(403);
      expect((await post(cancel, { 'x-offthread-csrf': csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      expect((await rt.get(queued.id))!.status).toBe('queued');
      const pause = await post(`${dash.url}api/tasks/${queued.id}/pause`, { 'x-offthread-csrf': csrf, origin: dash.url.slice(0, -1), 'sec-fetch-site': 'same-origin' });
      expect(pause.status).toBe(200);
      expect((await rt.get(queued.id))!.status).toBe('paused');
      // A move the status does not allow keeps the library's code.
      const again = await post(`${dash.url}api/tasks/${queued.id}/pause`, { 'x-offthread-csrf': csrf });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe('ERR_INVALID_TRANSITION');
      const bulk = await post(`${dash.url}api/bulk/cancel`, { 'x-offthread-csrf': csrf }, { status: 'paused' });
      expect(await bulk.json()).toEqual({ count: 1 });
      expect((await rt.get(queued.id))!.status).toBe('cancelled');

      const page = await fetch(dash.url);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
      expect(await page.text()).not.toMatch(/<script(?![^>]*src=)[^>]*>/); // no inline script
      // A page of another name resolving to 127.0.0.1 (DNS rebinding) is refused.
      expect(await statusWithHost(dash.url, 'attacker.example')).toBe(421);
      expect(await statusWithHost(dash.url, `localhost:${new URL(dash.url).port}`)).toBe(200);
      gates.open('csrf');
      await blocker.result();
    } finally {
      await rt.close();
    }
  });

  it('/metrics is Prometheus text with gauges, counters and histograms', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard();
    try {
      await (await rt.submit('add', { a: 1, b: 2 })).result();
      await (await rt.submit('fail', { message: 'x' })).result().catch(() => undefined);
      const res = await fetch(`${dash.url}metrics`);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(text).toContain('# TYPE offthread_tasks gauge\n');
      expect(text).toContain('offthread_tasks{status="completed"} 1\n');
      expect(text).toContain('# TYPE offthread_tasks_finished_total counter\n');
      expect(text).toContain('offthread_tasks_finished_total{type="fail",status="failed"} 1\n');
      expect(text).toContain('# TYPE offthread_task_run_seconds histogram\n');
      expect(text).toMatch(/^offthread_task_run_seconds_bucket\{type="add",le="\+Inf"\} 1$/m);
      expect(text).toMatch(/^offthread_task_run_seconds_count\{type="add"\} 1$/m);
      expect(text).toMatch(/^offthread_task_wait_seconds_count\{type="add"\} 1$/m);
    } finally {
      await rt.close();
    }
  });

  it('pages the list by cursor: tasks submitted between pages neither repeat nor shift it', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await rt.submit('noop', undefined, { name: `task ${i}` })).id);
      await rt.whenIdle();
      const page = async (query: string) =>
        (await (await fetch(`${dash.url}api/tasks?limit=3${query}`)).json()) as { tasks: { id: string }[]; next: string | null };
      const first = await page('');
      expect(first.tasks.map((t) => t.id)).toEqual([ids[6], ids[5], ids[4]]);
      await rt.submit('noop', undefined, { name: 'newer' });
      await rt.whenIdle();
      const second = await page(`&cursor=${first.next}`);
      expect(second.tasks.map((t) => t.id)).toEqual([ids[3], ids[2], ids[1]]);
      const third = await page(`&cursor=${second.next}`);
      expect(third.tasks.map((t) => t.id)).toEqual([ids[0]]);
      expect(third.next).toBeNull();
      expect((await fetch(`${dash.url}api/tasks?status=done`)).status).toBe(400);
      // The cursor's task was removed since: the client is told, and starts again from the newest.
      await rt.cleanup({ olderThanMs: 0 });
      const gone = await fetch(`${dash.url}api/tasks?limit=3&cursor=${first.next}`);
      expect(gone.status).toBe(404);
      expect(await gone.json()).toMatchObject({ error: { code: 'ERR_TASK_NOT_FOUND' } });
    } finally {
      await rt.close();
    }
  });

  it('a text search reads a bounded slice per page and goes on by cursor, missing nothing; ids are found by their index', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard();
    try {
      const ids: string[] = [];
      const needles = new Set([1, 6, 7, 10]);
      for (let i = 0; i < 12; i++) ids.push((await rt.submit('noop', undefined, { name: needles.has(i) ? `the NeedLE ${i}` : `hay ${i}` })).id);
      await rt.whenIdle();
      type Answer = { tasks: { id: string }[]; next: string | null; search: { scanned: number; byId: number } | null };
      const get = async (query: string) => (await (await fetch(`${dash.url}api/tasks?${query}`)).json()) as Answer;

      // Two rows read per page: pages may come back empty, yet following `next` finds every match.
      const found: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const answer: Answer = await get(`q=needle&scan=2${cursor === null ? '' : `&cursor=${cursor}`}`);
        expect(answer.search!.scanned).toBeLessThanOrEqual(2);
        found.push(...answer.tasks.map((t) => t.id));
        cursor = answer.next;
        pages++;
      } while (cursor !== null);
      expect(found).toEqual([10, 7, 6, 1].map((i) => ids[i]));
      expect(pages).toBe(6);
      // The whole list in one slice, and a page that fills up before its slice ends.
      expect(await get('q=needle')).toMatchObject({ next: null, search: { scanned: 12, byId: 0 } });
      expect(await get('q=needle&limit=2')).toMatchObject({ tasks: [{ id: ids[10] }, { id: ids[7] }], next: ids[7], search: { scanned: 5 } });

      // An id's start finds its task through the id index, first, however deep it lies.
      const byId = await get(`q=${ids[3]!.slice(0, 8)}&scan=1`);
      expect(byId.tasks.map((t) => t.id)).toEqual([ids[3]]);
      expect(byId.search).toEqual({ scanned: 1, byId: 1 });
      expect((await get(`q=${ids[3]}&status=completed`)).tasks.map((t) => t.id)).toEqual([ids[3]]);
      expect((await get(`q=${ids[3]}&status=failed`)).tasks).toEqual([]);
      // Without a text filter there is no search to report.
      expect((await get('limit=1')).search).toBeNull();
      expect((await fetch(`${dash.url}api/tasks?q=x&scan=0`)).status).toBe(400);
      expect((await fetch(`${dash.url}api/tasks?q=x&scan=50001`)).status).toBe(400);
    } finally {
      await rt.close();
    }
  });

  it('rt.close() closes its dashboards; nothing is served afterwards', async () => {
    const rt: TaskRuntime = await openRuntime({ concurrency: 1 });
    const dash = await rt.dashboard();
    const stream = await fetch(`${dash.url}api/stream`);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const ended = stream.body!.getReader();
    await rt.close();
    // The open stream ends, and the port no longer answers.
    for (;;) if ((await ended.read()).done) break;
    await expect(fetch(dash.url)).rejects.toThrow();
    await dash.close(); // idempotent
  });
});
