import { deserialize, serialize } from 'node:v8';
import { NotCloneableError } from '../errors.js';
import type { Task, TaskError } from '../types.js';
import { EncodedValue } from './encoded.js';

/*
 * Payloads and results are stored as V8 structured-clone bytes: the same semantics as
 * postMessage to a worker, so whatever a worker can receive (Dates, Maps, Sets, typed arrays,
 * cycles) also survives a restart, and nothing more. v8.deserialize reads the formats of
 * older Node versions, so a database outlives a Node upgrade.
 *
 * What a column holds:
 * - an EncodedValue (bytes made by submit or by the worker): those bytes, as they are;
 * - `undefined`, and for a result also `null` (Task.result's "none"): SQL NULL, no bytes;
 * - anything else: its serialization (so a `null` payload stays `null`).
 * NULL decodes to `undefined`; the row mapping turns a NULL result into `null`. So a payload
 * round-trips exactly, and a result reads back as itself or, when there is none, `null`.
 */

/** Serializes any value (undefined included). Throws NotCloneableError (ERR_NOT_CLONEABLE). */
export function encodeValue(value: unknown, what: 'payload' | 'result' | 'message'): Buffer {
  try {
    return serialize(value);
  } catch (cause) {
    throw new NotCloneableError(what, cause);
  }
}

/** The BLOB to store for a payload or result (see the rules above). */
export function encodeColumn(value: unknown, what: 'payload' | 'result'): Buffer | null {
  if (value instanceof EncodedValue) {
    const { bytes } = value;
    // A view, not a copy: better-sqlite3 copies it into the row anyway.
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (value === undefined || (value === null && what === 'result')) return null;
  return encodeValue(value, what);
}

export function decodeValue(buf: Buffer | null | undefined): unknown {
  return buf == null ? undefined : deserialize(buf);
}

/** Only `code` and `message` are kept: stacks and extra fields would bloat every failed row. */
export function encodeError(error: TaskError | null | undefined): string | null {
  if (error == null) return null;
  return JSON.stringify(error.stack === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, stack: error.stack });
}

export function decodeError(text: string | null): TaskError | null {
  return text === null ? null : (JSON.parse(text) as TaskError);
}

/** `task` with its decoded checkpoint, when the row holds one (the key stays absent when not). */
export function withCheckpoint(task: Task, bytes: Uint8Array | null): Task {
  if (bytes !== null) task.checkpoint = deserialize(bytes);
  return task;
}
