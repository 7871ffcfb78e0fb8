/** Reading and writing JSON over node:http, with the headers every dashboard answer carries. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OffthreadError } from '../errors.js';

/** Scripts from the package only, no inline code, no framing, no plugins. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const MAX_BODY = 16 * 1024;

export function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** An error of an action as an HTTP answer: the error's code kept, a status that fits it. */
export function sendFailure(res: ServerResponse, error: unknown): void {
  if (error instanceof BodyError) return sendError(res, error.status, 'ERR_BAD_REQUEST', error.message);
  if (error instanceof OffthreadError) {
    const status =
      error.code === 'ERR_TASK_NOT_FOUND' ? 404 : error.code === 'ERR_INVALID_TRANSITION' ? 409 : error.code.startsWith('ERR_STORE') ? 503 : 400;
    return sendError(res, status, error.code, error.message);
  }
  sendError(res, 500, 'ERR_INTERNAL', (error as Error)?.message ?? String(error));
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request's JSON body (an object), at most MAX_BODY bytes; an empty body is {}. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'];
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BodyError(413, `The body is over ${MAX_BODY} bytes.`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  if (type === undefined || !/^application\/json\b/i.test(type)) throw new BodyError(415, 'Send the body as application/json.');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BodyError(400, 'The body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BodyError(400, 'The body must be a JSON object.');
  return value as Record<string, unknown>;
}
