/**
 * A fast path for payloads that are bytes (a Uint8Array or a Buffer: an image, a document),
 * written in V8's serialization format by hand: the bytes v8.serialize() makes for them,
 * in one allocation and one copy.
 *
 * Why: v8.serialize() hands a typed array to Node's JavaScript hook (`_writeHostObject` in
 * node:v8), which writes it into a buffer that grows as it goes and is copied out at the
 * end: about 1 ms of the main thread for 1 MB here, where one copy takes a tenth of that.
 *
 * The format is read from Node's own serializer when this module loads (the header of an
 * empty view), and checked against it on a short one: should a Node version write these
 * values differently, the fast path stays off and v8.serialize() is used, as for any other
 * value. test/store/byte-payloads.test.ts compares the bytes with v8.serialize()'s.
 */
import { serialize } from 'node:v8';

/** The bytes before the length, per kind of view, or undefined where the fast path is off. */
const UINT8_HEADER = headerOf(new Uint8Array(0), new Uint8Array([7]));
const BUFFER_HEADER = headerOf(Buffer.alloc(0), Buffer.from([7]));

/**
 * v8.serialize()'s bytes for `value` when it is a plain Uint8Array or Buffer (not a subclass
 * of either, not another kind of view), else undefined.
 */
export function encodeBytes(value: unknown): Buffer | undefined {
  const header = headerFor(value);
  if (header === undefined) return undefined;
  const bytes = value as Uint8Array;
  // An empty view is left to v8.serialize(): it may be a detached one, which it refuses.
  if (bytes.byteLength === 0) return undefined;
  const out = Buffer.allocUnsafe(header.length + varintSize(bytes.byteLength) + bytes.byteLength);
  out.set(header, 0);
  const at = writeVarint(out, header.length, bytes.byteLength);
  out.set(bytes, at);
  return out;
}

/** The length of encodeBytes(value), without making it; -1 when it would return undefined. */
export function encodedBytesSize(value: unknown): number {
  const header = headerFor(value);
  if (header === undefined) return -1;
  const { byteLength } = value as Uint8Array;
  return byteLength === 0 ? -1 : header.length + varintSize(byteLength) + byteLength;
}

function headerFor(value: unknown): Buffer | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Uint8Array.prototype) return UINT8_HEADER;
  // Buffer.from() and its kin make FastBuffers, whose prototype is Buffer.prototype.
  if (proto === Buffer.prototype) return BUFFER_HEADER;
  return undefined;
}

/**
 * Node's header for this kind of view: the bytes of the empty one without its length (a
 * single zero byte), if a one-byte view comes out as header, length 1, the byte.
 */
function headerOf(empty: Uint8Array, one: Uint8Array): Buffer | undefined {
  const none = serialize(empty);
  if (none[none.length - 1] !== 0) return undefined;
  const header = Buffer.from(none.subarray(0, none.length - 1));
  const expected = Buffer.concat([header, Buffer.from([1, one[0]!])]);
  return serialize(one).equals(expected) ? header : undefined;
}

/** Bytes of a base-128 varint (what V8 writes for a length). */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}
