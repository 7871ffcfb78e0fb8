/**
 * Who may use a dashboard. With a token, every request carries it (a cookie set from
 * `?token=` once, or `Authorization: Bearer`). Actions (POST) must also come from the
 * dashboard's own pages: a same-origin request with the per-server CSRF header, so another
 * site open in the same browser cannot drive the tasks. A loopback dashboard also checks
 * the Host header, so a DNS-rebinding page cannot reach it under another name.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const COOKIE = 'offthread_dashboard';
export const CSRF_HEADER = 'x-offthread-csrf';

export type Verdict = { ok: true; setCookie: boolean } | { ok: false; status: 401 | 403 | 421; reason: string };

export class Guard {
  /** Sent in every page and asked back on every action. */
  readonly csrf = randomBytes(18).toString('base64url');

  constructor(
    private readonly token: string | null,
    /** Host header values accepted, or null for any (a token guards it). */
    private readonly hosts: Set<string> | null,
  ) {}

  /** Whether a request may be served: Host, then token. */
  admit(req: IncomingMessage, url: URL): Verdict {
    if (this.hosts !== null && !this.hosts.has((req.headers.host ?? '').toLowerCase())) {
      return { ok: false, status: 421, reason: 'This dashboard answers only to its own address.' };
    }
    if (this.token === null) return { ok: true, setCookie: false };
    const query = url.searchParams.get('token');
    if (query !== null && same(query, this.token)) return { ok: true, setCookie: true };
    const auth = req.headers.authorization;
    if (auth !== undefined && /^Bearer /i.test(auth) && same(auth.slice(7).trim(), this.token)) return { ok: true, setCookie: false };
    const cookie = readCookie(req.headers.cookie, COOKIE);
    if (cookie !== undefined && same(cookie, this.token)) return { ok: true, setCookie: false };
    return { ok: false, status: 401, reason: 'A token is required: open the URL the dashboard printed (with ?token=), or send Authorization: Bearer <token>.' };
  }

  /** Whether an action (POST) comes from the dashboard's own pages. */
  allowAction(req: IncomingMessage): Verdict {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return { ok: false, status: 403, reason: 'Cross-site request refused.' };
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        return { ok: false, status: 403, reason: 'Bad Origin header.' };
      }
      if (originHost !== req.headers.host) return { ok: false, status: 403, reason: 'Cross-origin request refused.' };
    } else if (origin === 'null') return { ok: false, status: 403, reason: 'Opaque origin refused.' };
    const header = req.headers[CSRF_HEADER];
    if (typeof header !== 'string' || !same(header, this.csrf)) {
      return { ok: false, status: 403, reason: `Actions need the ${CSRF_HEADER} header (its value is in GET /api/info).` };
    }
    return { ok: true, setCookie: false };
  }

  setCookie(res: ServerResponse): void {
    res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(this.token ?? '')}; HttpOnly; SameSite=Strict; Path=/`);
  }
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
