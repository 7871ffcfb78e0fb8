/**
 * A fast path for the store's encoding of small, plain payloads: strings, numbers, booleans,
 * null, undefined, and arrays and plain objects of them, written in V8's serialization format
 * (what v8.serialize() writes and v8.deserialize() reads) by hand.
 *
 * Why: v8.serialize() makes a native Serializer and an ArrayBuffer on every call. That is
 * 1.3 µs for a short string and 3-5 µs for a small object here, and the garbage collector
 * pays again for both: 200k calls add ~115 ms of young-generation GC even when the bytes are
 * dropped at once (25 ms for the same objects without them). A burst of 100k submits paid
 * it in the event loop's longest turns. Written here, the bytes land in Buffer's shared
 * pool: no native object and no ArrayBuffer per payload.
 *
 * Anything else (Dates, Maps, typed arrays, class instances, a shared or cyclic reference,
 * a sparse array, a long string, a large value) returns undefined, and the caller uses
 * v8.serialize() as before. The bytes decode with v8.deserialize() to an equal value;
 * test/store/plain-encoder.test.ts checks that against v8.serialize() on many values.
 */

import { types } from 'node:util';
import { EncodedValue } from './encoded.js';

/** V8's serialization tags (v8/src/objects/value-serializer.cc) and the format version written. */
const VERSION_TAG = 0xff;
const VERSION = 15;
const PADDING = 0x00;
const UNDEFINED = 0x5f; // '_'
const NULL = 0x30; // '0'
const TRUE = 0x54; // 'T'
const FALSE = 0x46; // 'F'
const INT32 = 0x49; // 'I', zigzag varint
const DOUBLE = 0x4e; // 'N', float64 little-endian
const ONE_BYTE_STRING = 0x22; // '"', varint length, Latin-1 bytes
const TWO_BYTE_STRING = 0x63; // 'c', varint byte length, UTF-16LE bytes
const BEGIN_OBJECT = 0x6f; // 'o'
const END_OBJECT = 0x7b; // '{', varint property count
const BEGIN_DENSE_ARRAY = 0x41; // 'A', varint length
const END_DENSE_ARRAY = 0x24; // '$', varint property count (0), varint length

/** Larger values go to v8.serialize(): its per-call cost no longer dominates, its copy is native. */
const MAX_BYTES = 4096;
const MAX_DEPTH = 64;
const NOT_LATIN1 = /[^\u0000-\u00ff]/;

// Room past MAX_BYTES for what is written before the size is checked again: one number, and
// the closing tags of MAX_DEPTH levels (11 bytes at most each).
const scratch = Buffer.allocUnsafe(MAX_BYTES + 1024);
let at = 0;
/** Objects on the current path and already written: a second sighting means a shared or cyclic reference. */
const seen = new Set<object>();

/**
 * Where encoded payloads are kept: each slab is shared by the payloads written into it and
 * freed once none of them is referenced (a payload's bytes are dropped when its row is
 * written). Buffer's own pool has the same size, and so the same worst case: one long-lived
 * payload keeps its 8 KB.
 */
const SLAB_BYTES = 8192;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabAt = 0;

/** Where encodePlainAt() put a value's bytes: `slab[start..end)`. */
export interface PlainPlace {
  slab: Buffer;
  start: number;
  end: number;
}

/**
 * Writes the value's bytes in V8's format into the shared slab and says where in `place`;
 * false (nothing written) when it is not small and plain. For callers that keep many
 * places without an object each (a submitMany's payloads, until each task is added).
 */
export function encodePlainAt(value: unknown, place: PlainPlace): boolean {
  if (plainSize(value) < 0) return false;
  if (slabAt + at > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabAt = 0;
  }
  scratch.copy(slab, slabAt, 0, at);
  place.slab = slab;
  place.start = slabAt;
  place.end = slabAt + at;
  slabAt += at;
  return true;
}

/**
 * The size of the value's bytes in V8's format, written in the scratch buffer only; -1 when
 * it is not small and plain. What a payload that is never stored needs: a size to check.
 */
export function plainSize(value: unknown): number {
  at = 0;
  scratch[at++] = VERSION_TAG;
  scratch[at++] = VERSION;
  let ok: boolean;
  try {
    ok = write(value, 0); // a getter may throw: so would v8.serialize(), and the caller reports it
  } finally {
    seen.clear();
  }
  return ok && at <= MAX_BYTES ? at : -1;
}

const lastPlace: PlainPlace = { slab, start: 0, end: 0 };

/** The value's bytes in V8's format, or undefined when it is not small and plain. */
export function encodePlain(value: unknown): EncodedValue | undefined {
  if (!encodePlainAt(value, lastPlace)) return undefined;
  return new EncodedValue(lastPlace.slab, lastPlace.start, lastPlace.end);
}

function write(value: unknown, depth: number): boolean {
  if (at > MAX_BYTES) return false;
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      writeNumber(value);
      return true;
    case 'boolean':
      scratch[at++] = value ? TRUE : FALSE;
      return true;
    case 'undefined':
      scratch[at++] = UNDEFINED;
      return true;
    case 'object':
      if (value === null) {
        scratch[at++] = NULL;
        return true;
      }
      if (depth >= MAX_DEPTH || seen.has(value) || isExotic(value)) return false;
      seen.add(value);
      if (Array.isArray(value)) return writeArray(value, depth);
      return writeObject(value, depth);
    default:
      return false; // bigint, symbol, function: v8.serialize() decides (and reports)
  }
}

/** Objects with a plain prototype that V8's serializer still treats as its own kinds (or refuses). */
function isExotic(value: object): boolean {
  return types.isProxy(value) || types.isArgumentsObject(value) || types.isModuleNamespaceObject(value);
}

function writeNumber(n: number): void {
  if (Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff && !Object.is(n, -0)) {
    scratch[at++] = INT32;
    writeVarint(((n << 1) ^ (n >> 31)) >>> 0);
    return;
  }
  scratch[at++] = DOUBLE;
  scratch.writeDoubleLE(n, at);
  at += 8;
}

function writeString(s: string): boolean {
  if (s.length > MAX_BYTES) return false;
  if (!NOT_LATIN1.test(s)) {
    scratch[at++] = ONE_BYTE_STRING;
    writeVarint(s.length);
    if (at + s.length > scratch.length) return false;
    at += scratch.write(s, at, 'latin1');
    return true;
  }
  const byteLength = s.length * 2;
  // V8 aligns two-byte string data to an even offset with a padding tag; so do we.
  if ((at + 1 + varintSize(byteLength)) & 1) scratch[at++] = PADDING;
  scratch[at++] = TWO_BYTE_STRING;
  writeVarint(byteLength);
  if (at + byteLength > scratch.length) return false;
  at += scratch.write(s, at, 'utf16le');
  return true;
}

function writeArray(array: unknown[], depth: number): boolean {
  if (Object.getPrototypeOf(array) !== Array.prototype) return false;
  const length = array.length;
  // Holes and extra properties have their own forms in V8's format: left to v8.serialize().
  if (Object.keys(array).length !== length) return false;
  scratch[at++] = BEGIN_DENSE_ARRAY;
  writeVarint(length);
  for (let i = 0; i < length; i++) {
    if (!write(array[i], depth + 1)) return false;
  }
  scratch[at++] = END_DENSE_ARRAY;
  writeVarint(0);
  writeVarint(length);
  return true;
}

function writeObject(object: object, depth: number): boolean {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(object);
  scratch[at++] = BEGIN_OBJECT;
  for (const key of keys) {
    if (!writeString(key)) return false;
    if (!write((object as Record<string, unknown>)[key], depth + 1)) return false;
  }
  scratch[at++] = END_OBJECT;
  writeVarint(keys.length);
  return true;
}

function writeVarint(n: number): void {
  while (n >= 0x80) {
    scratch[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  scratch[at++] = n;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    size++;
    n >>>= 7;
  }
  return size;
}
