/**
 * A dashboard's HTTP server (node:http): pages, assets, the JSON API, the live stream and
 * /metrics, behind the guard (src/dashboard/auth.ts). Everything here is made when a
 * dashboard opens and released at close: a runtime without one pays nothing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Subscription } from 'rxjs';
import { DashboardListenError } from '../errors.js';
import { addApiRoutes } from './api.js';
import { Guard } from './auth.js';
import { securityHeaders, sendError, sendFailure } from './http-io.js';
import { isLoopback, resolveDashboardOptions, type Dashboard, type DashboardOptions } from './options.js';
import { Router } from './router.js';
import type { DashboardSource } from './source.js';
import { SseHub } from './sse.js';
import { asset, PAGE } from './static-assets.js';
import { Throughput } from './throughput.js';
import { Timeline } from './timeline.js';

/** A source without events is re-read this often while a page listens, to find changes. */
const POLL_MS = 1000;

export async function openDashboard(source: DashboardSource, options?: DashboardOptions): Promise<Dashboard> {
  const resolved = resolveDashboardOptions(options);
  const hosts = new Set<string>();
  const guard = new Guard(resolved.token, resolved.token === null ? hosts : null);

  // Pages are kept live only while one listens (a page hidden in a background tab stops
  // listening): by re-reading a source without events, or by following a runtime's events$.
  // A runtime builds its events only while someone listens, and holds each end until it is
  // stored: an open dashboard without a page costs it nothing.
  let poll: NodeJS.Timeout | undefined;
  let subscription: Subscription | undefined;
  const timeline = source.events$ === null ? null : new Timeline();
  const throughput = new Throughput(source);
  const hub = new SseHub((listeners) => {
    if (source.events$ === null) {
      if (listeners > 0) poll ??= startPolling(source, hub);
      else {
        clearInterval(poll);
        poll = undefined;
      }
    } else if (listeners > 0) {
      if (subscription !== undefined) return;
      throughput.follow(true);
      subscription = source.events$.subscribe((event) => {
        timeline!.add(event);
        throughput.add(event);
        hub.change(event.taskId);
      });
    } else {
      subscription?.unsubscribe();
      subscription = undefined;
      throughput.follow(false);
    }
  });

  const router = new Router();
  for (const page of ['/', '/tasks', '/tasks/:id', '/schedules']) {
    router.get(page, ({ res }) => {
      res.writeHead(200, { 'Content-Type': PAGE.type, 'Cache-Control': 'no-store' });
      res.end(PAGE.body);
    });
  }
  // Browsers ask for it on every page: an empty answer rather than a 404 in their console.
  router.get('/favicon.ico', ({ res }) => void res.writeHead(204).end());
  router.get('/assets/:name', async ({ res, params }) => {
    const found = asset(params.name!);
    if (found === undefined) return sendError(res, 404, 'ERR_NOT_FOUND', 'No such asset.');
    const { type, body } = await found;
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
    res.end(body);
  });
  addApiRoutes(router, { source, guard, hub, timeline, throughput });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A typed error keeps its code and gets a status that fits it (a store away is 503).
      if (!res.headersSent) sendFailure(res, error);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res);
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const verdict = guard.admit(req, url);
    if (!verdict.ok) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendError(res, verdict.status, verdict.status === 401 ? 'ERR_UNAUTHORIZED' : 'ERR_MISDIRECTED', verdict.reason);
    }
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (match === 'not-found') return sendError(res, 404, 'ERR_NOT_FOUND', `Nothing at ${url.pathname}.`);
    if (match === 'method') return sendError(res, 405, 'ERR_METHOD', `${req.method} is not allowed here.`);
    if (verdict.setCookie) {
      guard.setCookie(res);
      // Off the address bar and history: the cookie carries the token from now on.
      if (req.method === 'GET' && !url.pathname.startsWith('/api/') && url.pathname !== '/metrics') {
        url.searchParams.delete('token');
        res.writeHead(303, { Location: `${url.pathname}${url.search}` });
        return void res.end();
      }
    }
    await match.handler({ req, res, url, params: match.params });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new DashboardListenError(resolved.host, resolved.port, error)));
    server.listen(resolved.port, resolved.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  for (const name of [shownHost, ...(isLoopback(resolved.host) ? ['localhost', '127.0.0.1', '[::1]'] : [])]) hosts.add(`${name}:${port}`.toLowerCase());

  let closing: Promise<void> | undefined;
  const url = `http://${shownHost}:${port}/${resolved.token === null ? '' : `?token=${encodeURIComponent(resolved.token)}`}`;
  return {
    url,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        subscription?.unsubscribe();
        clearInterval(poll);
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/**
 * Finds changes of a source without events by re-reading its counts and unfinished tasks.
 * The first read counts as a change: what happened between a page's own read and its
 * stream's start is told too.
 */
function startPolling(source: DashboardSource, hub: SseHub): NodeJS.Timeout {
  let last = '';
  let reading = false;
  const read = () => {
    if (reading) return;
    reading = true;
    Promise.all([source.stats(), source.list({ status: ['queued', 'running', 'paused'], limit: 200 })])
      .then(([stats, unfinished]) => {
        const fingerprint = JSON.stringify([stats, unfinished.map((t) => [t.id, t.status, t.progress, t.progressMessage, t.priority])]);
        if (fingerprint !== last) hub.change();
        last = fingerprint;
      })
      .catch(() => undefined)
      .finally(() => (reading = false));
  };
  read();
  return setInterval(read, POLL_MS);
}
