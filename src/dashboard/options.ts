/** The options of a dashboard, checked: safe by default (loopback only, a token elsewhere). */
import { InvalidOptionError } from '../errors.js';
import { describe, rejectUnknownKeys } from '../options/checks.js';

/** Options of `rt.dashboard()` (and of `offthread dashboard`). */
export interface DashboardOptions {
  /** The TCP port; 0 takes any free one. @default 0 */
  port?: number;
  /**
   * The address to listen on. Anything but a loopback address (127.0.0.1, ::1, localhost)
   * requires a `token`. @default '127.0.0.1'
   */
  host?: string;
  /**
   * A secret every request must carry: `?token=` once (it sets an HttpOnly, SameSite=Strict
   * cookie) or an `Authorization: Bearer` header. @default none (loopback only)
   */
  token?: string;
}

/** An open dashboard. */
export interface Dashboard {
  /** Where to open it, with `?token=` when a token is set. */
  readonly url: string;
  /** Stops serving and ends every open page's live stream. Idempotent. */
  close(): Promise<void>;
}

export interface ResolvedDashboardOptions {
  port: number;
  host: string;
  token: string | null;
}

const KEYS = ['port', 'host', 'token'];
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Short tokens can be guessed over the network. */
const MIN_TOKEN_LENGTH = 16;

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function resolveDashboardOptions(options: DashboardOptions | undefined): ResolvedDashboardOptions {
  if (options === undefined) return { port: 0, host: '127.0.0.1', token: null };
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `expected { port?, host?, token? }, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, KEYS, 'dashboard');
  const { port = 0, host = '127.0.0.1', token } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionError('port', `expected a whole number from 0 to 65535, got ${describe(port)}.`);
  }
  if (typeof host !== 'string' || host === '') throw new InvalidOptionError('host', `expected a host name or address, got ${describe(host)}.`);
  if (token !== undefined && (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token))) {
    throw new InvalidOptionError('token', `expected a string of at least ${MIN_TOKEN_LENGTH} printable characters, without spaces.`);
  }
  if (!isLoopback(host) && token === undefined) {
    throw new InvalidOptionError(
      'token',
      `the dashboard would listen on ${host}, reachable from other machines, without a token. Pass { token } (e.g. crypto.randomBytes(24).toString('base64url')), or keep the default host 127.0.0.1.`,
    );
  }
  return { port, host, token: token ?? null };
}
