/**
 * The NOTIFY channels the hosts of a queue talk on, and what each carries. Every queue of
 * a database shares them: a message names its queue, and a host ignores the others'.
 *
 * - offthread_ready: the queue's name. Tasks may have become ready to claim.
 * - offthread_events: `{ q, h, e }`, what host `h` did to queue `q`'s tasks (./pg-events.ts).
 * - offthread_control: `{ q, to, id, action, priority?, m? }`, a command for the task `id`
 *   that host `to` holds; `m` is a sent message's v8 serialization, in base64.
 */
import { deserialize } from 'node:v8';
import { PayloadTooLargeError } from '../../errors.js';
import { encodeValue } from '../codec.js';
import type { Priority } from '../../types.js';
import type { ControlRequest } from '../task-claims.js';

export const READY_CHANNEL = 'offthread_ready';
export const EVENTS_CHANNEL = 'offthread_events';
export const CONTROL_CHANNEL = 'offthread_control';

export const CHANNELS = [READY_CHANNEL, EVENTS_CHANNEL, CONTROL_CHANNEL] as const;

/** A command carried to the host that holds a task. */
export interface ControlMessage {
  q: string;
  /** The host that holds the task (its lease_owner). */
  to: string;
  id: string;
  action: ControlRequest['action'];
  priority?: Priority;
  m?: string;
}

/** A NOTIFY payload must stay under 8000 bytes: room left for a sent message, base64 included. */
const SENT_MESSAGE_MAX = 7000;

export function controlMessage(queue: string, to: string, id: string, request: ControlRequest): string {
  const message: ControlMessage = { q: queue, to, id, action: request.action };
  if (request.action === 'setPriority') message.priority = request.priority;
  if (request.action === 'send') message.m = encodeSent(request.message);
  return JSON.stringify(message);
}

/** A message for a task on another host, as it travels; throws ERR_NOT_CLONEABLE or ERR_PAYLOAD_TOO_LARGE. */
function encodeSent(value: unknown): string {
  const text = encodeValue(value, 'message').toString('base64');
  if (text.length > SENT_MESSAGE_MAX) {
    throw new PayloadTooLargeError('the message', text.length, SENT_MESSAGE_MAX, 'for a task that runs on another host (it travels in a PostgreSQL NOTIFY, base64). Send a reference to the data instead.');
  }
  return text;
}

const ACTIONS = new Set<unknown>(['pause', 'resume', 'cancel', 'setPriority', 'send']);
const PRIORITIES = new Set<unknown>(['low', 'normal', 'high']);

/** The command in a control message for `host` on `queue`, or undefined (another's, or not understood). */
export function controlFor(payload: string, queue: string, host: string): { id: string; request: ControlRequest } | undefined {
  const message = parse(payload) as Partial<ControlMessage> | undefined;
  if (message?.q !== queue || message.to !== host || typeof message.id !== 'string' || !ACTIONS.has(message.action)) return undefined;
  if (message.action === 'setPriority') {
    if (!PRIORITIES.has(message.priority)) return undefined;
    return { id: message.id, request: { action: 'setPriority', priority: message.priority! } };
  }
  if (message.action === 'send') {
    if (typeof message.m !== 'string') return undefined;
    return { id: message.id, request: { action: 'send', message: deserialize(Buffer.from(message.m, 'base64')) } };
  }
  return { id: message.id, request: { action: message.action! } as ControlRequest };
}

/** A payload's JSON object, or undefined when it is not one (a message this code does not know). */
export function parse(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
