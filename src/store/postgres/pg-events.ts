/**
 * Task events between the hosts of a queue, on the offthread_events channel.
 *
 * A commit sends its batch's events in the same transaction as its rows, so they are
 * delivered when (and only if) the rows are committed, in commit order. A notification is
 * `{"q": queue, "h": host, "e": [event, ...]}`, each under PAYLOAD_MAX bytes (NOTIFY refuses
 * 8000): a batch's events are cut into as many as it takes, in order.
 *
 * An event travels as its TaskEvent fields, except:
 * - a `completed` event's result (any structured-clone value) as its v8 bytes in base64,
 *   `result64`, up to INLINE_MAX bytes;
 * - a field too large to send (a larger result, error or progress message) is named in
 *   `omitted` and the receiver reads it from the task's row (which the commit wrote), in
 *   the `result`, `error` or `progress_message` column. An omitted error or message still
 *   carries its start, used should the row be gone by then.
 */
import { deserialize, serialize } from 'node:v8';
import type { Priority, TaskError, TaskEvent } from '../../types.js';
import { decodeError, decodeValue } from '../codec.js';
import { EncodedValue } from '../encoded.js';
import { EVENTS_CHANNEL, parse } from './pg-channels.js';
import type { PgDb, Queryable } from './pg-db.js';

/** Bytes of one notification's payload at most. */
export const PAYLOAD_MAX = 7500;
/** A result's v8 bytes, an error's or a progress message's JSON travel inline up to this many bytes. */
export const INLINE_MAX = 4096;
/** What an omitted error message or progress message still carries. */
const SHORT_CHARS = 200;

type Omittable = 'result' | 'error' | 'message';

/** An event as it travels (see above). */
export interface WireEvent {
  type: string;
  taskId: string;
  taskType: string;
  at: number;
  omitted?: Omittable[];
  [field: string]: unknown;
}

/** The columns read for an event's omitted fields. */
export interface EventRow {
  id: string;
  result: Buffer | null;
  error: string | null;
  progress_message: string | null;
}

/** The payloads that tell `events`, in order, each under PAYLOAD_MAX bytes. */
export function eventPayloads(queue: string, host: string, events: readonly TaskEvent[]): string[] {
  if (events.length === 0) return [];
  const head = `{"q":${JSON.stringify(queue)},"h":${JSON.stringify(host)},"e":[`;
  const tail = ']}';
  const room = PAYLOAD_MAX - bytes(head) - tail.length;
  const payloads: string[] = [];
  let parts: string[] = [];
  let size = 0;
  for (const event of events) {
    const text = encodeEvent(event, room);
    const length = bytes(text);
    if (parts.length > 0 && size + 1 + length > room) {
      payloads.push(head + parts.join(',') + tail);
      parts = [];
      size = 0;
    }
    size += (parts.length > 0 ? 1 : 0) + length;
    parts.push(text);
  }
  payloads.push(head + parts.join(',') + tail);
  return payloads;
}

/** Sends the payloads on the transaction's connection: delivered, in this order, when it commits. */
export async function publishEvents(client: Queryable, payloads: readonly string[]): Promise<void> {
  if (payloads.length === 0) return;
  await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [EVENTS_CHANNEL, payloads]);
}

/** The events of a notification from another host of `queue`, or undefined (this host's own, another queue's, not understood). */
export function eventsFrom(payload: string, queue: string, host: string): WireEvent[] | undefined {
  const message = parse(payload);
  if (message?.q !== queue || message.h === host || !Array.isArray(message.e)) return undefined;
  return (message.e as unknown[]).filter(
    (event): event is WireEvent =>
      typeof event === 'object' &&
      event !== null &&
      typeof (event as WireEvent).type === 'string' &&
      typeof (event as WireEvent).taskId === 'string' &&
      typeof (event as WireEvent).at === 'number',
  );
}

/** The tasks whose rows are to be read before the events can be told. */
export function omittedIds(events: readonly WireEvent[]): string[] {
  return [...new Set(events.filter((event) => event.omitted !== undefined && event.omitted.length > 0).map((event) => event.taskId))];
}

/** Reads the columns of the omitted fields. */
export async function readOmitted(db: PgDb, queue: string, ids: readonly string[]): Promise<Map<string, EventRow>> {
  const { rows } = await db.query<EventRow>('SELECT id, result, error, progress_message FROM offthread.tasks WHERE queue = $1 AND id = ANY($2)', [
    queue,
    ids,
  ]);
  return new Map(rows.map((row) => [row.id, row]));
}

/** The events as TaskEvents, exactly their shapes in src/types.ts; a type this code does not know is left out. */
export function toTaskEvents(events: readonly WireEvent[], rows: ReadonlyMap<string, EventRow>): TaskEvent[] {
  const told: TaskEvent[] = [];
  for (const event of events) {
    const decoded = toTaskEvent(event, rows.get(event.taskId));
    if (decoded !== undefined) told.push(decoded);
  }
  return told;
}

function toTaskEvent(w: WireEvent, row: EventRow | undefined): TaskEvent | undefined {
  const { taskId, taskType, at } = w;
  const omitted = (field: Omittable): boolean => w.omitted?.includes(field) === true;
  const error = (): TaskError => {
    const fromRow = omitted('error') && row !== undefined ? decodeError(row.error) : null;
    const { code, message } = fromRow ?? (w.error as TaskError);
    return { code, message };
  };
  switch (w.type) {
    case 'created':
      return { type: 'created', taskId, taskType, at, priority: w.priority as Priority };
    case 'started':
      return { type: 'started', taskId, taskType, at, attempt: w.attempt as number };
    case 'progress': {
      const message = omitted('message') && row !== undefined && row.progress_message !== null ? row.progress_message : (w.message as string | null);
      return { type: 'progress', taskId, taskType, at, progress: w.progress as number, message };
    }
    case 'paused':
    case 'resumed':
      return { type: w.type, taskId, taskType, at };
    case 'retrying':
      return { type: 'retrying', taskId, taskType, at, attempt: w.attempt as number, error: error(), delayMs: w.delayMs as number };
    case 'completed': {
      const result = omitted('result') ? decodeValue(row?.result) : deserialize(Buffer.from(w.result64 as string, 'base64'));
      return { type: 'completed', taskId, taskType, at, result };
    }
    case 'failed':
    case 'cancelled':
      return { type: w.type, taskId, taskType, at, error: error() };
    default:
      return undefined;
  }
}

/** One event's JSON, at most `room` bytes. */
function encodeEvent(event: TaskEvent, room: number): string {
  const wire: WireEvent = { ...event };
  const omitted: Omittable[] = [];
  if (event.type === 'completed') {
    delete wire.result;
    const result = resultBytes(event.result);
    if (result !== undefined && result.length <= INLINE_MAX) wire.result64 = result.toString('base64');
    else omitted.push('result');
  }
  if ('error' in event) {
    const { code, message } = event.error;
    wire.error = { code, message };
    if (bytes(JSON.stringify(wire.error)) > INLINE_MAX) {
      wire.error = { code, message: message.slice(0, SHORT_CHARS) };
      omitted.push('error');
    }
  }
  if (event.type === 'progress' && event.message !== null && bytes(JSON.stringify(event.message)) > INLINE_MAX) {
    wire.message = event.message.slice(0, SHORT_CHARS);
    omitted.push('message');
  }
  if (omitted.length > 0) wire.omitted = omitted;
  let text = JSON.stringify(wire);
  if (bytes(text) <= room) return text;
  // Each field fits, but not all of them in one notification: every large one is read from the row.
  if (wire.result64 !== undefined) {
    delete wire.result64;
    omitted.push('result');
  }
  if (wire.error !== undefined) {
    wire.error = { code: (wire.error as TaskError).code, message: '' };
    if (!omitted.includes('error')) omitted.push('error');
  }
  if (event.type === 'progress' && event.message !== null) {
    wire.message = null;
    if (!omitted.includes('message')) omitted.push('message');
  }
  wire.omitted = omitted;
  text = JSON.stringify(wire);
  if (bytes(text) > room) {
    throw new Error(`The ${event.type} event of task ${event.taskId} is too large to send to the other hosts (${bytes(text)} bytes).`);
  }
  return text;
}

/** A result's v8 bytes, or undefined when it cannot be serialized here (the row has it). */
function resultBytes(result: unknown): Buffer | undefined {
  if (result instanceof EncodedValue) {
    const { bytes } = result;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    return serialize(result);
  } catch {
    return undefined;
  }
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
