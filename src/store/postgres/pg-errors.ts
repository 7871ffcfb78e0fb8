/**
 * Which failures of the PostgreSQL store mean "the server cannot be reached, or the
 * connection to it dropped": those are thrown as StoreUnavailableError (ERR_STORE_UNAVAILABLE),
 * a condition to wait out and retry, not a fault of the call. Every other error (a constraint,
 * a payload that cannot be cloned, a bug in a statement) passes through as it is.
 */
import { StoreFullError, StoreIOError, StoreUnavailableError } from '../../errors.js';

/** Node's socket errors for a server that refuses, resets, times out or cannot be found. */
const NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a lost server: class 08 (connection exception), and the server shutting down
 * or not yet accepting connections (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now).
 */
const SERVER_GONE = /^(08[0-9A-Z]{3}|57P0[123])$/;

/** What `pg` says when the socket closed under a query, or a pooled connection could not be made in time. */
const PG_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
];

/** True for an error of `pg` or of Node's sockets that says the server is out of reach. */
export function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (NODE_CODES.has(code) || SERVER_GONE.test(code))) return true;
  if (typeof message === 'string' && PG_MESSAGES.some((pattern) => pattern.test(message))) return true;
  // Node tries each address of a host name and reports them together (an AggregateError).
  if (Array.isArray(errors)) return errors.length > 0 && errors.every(isConnectionFailure);
  return false;
}

const ADVICE =
  'The PostgreSQL server could not be reached, or the connection to it was lost. Check that it runs and accepts ' +
  'connections from this host; the call may be made again once it is back (isUnavailable(error) is true for this error).';

/** `error` as the store throws it: StoreUnavailableError for a lost server, anything else as it is. */
export function storeError(error: unknown, where: string): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const sqlState = (error as { code?: unknown })?.code;
  // Class 53 (insufficient resources): 53100 disk full; 58030 is an I/O error of the server.
  if (sqlState === '53100') return new StoreFullError(where, error);
  if (sqlState === '58030') return new StoreIOError(where, error);
  if (!isConnectionFailure(error)) return error;
  return new StoreUnavailableError(where, error, ADVICE);
}

/** A connection string without its password, for messages: host, port, database and user. */
export function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'the PostgreSQL server';
  }
}
