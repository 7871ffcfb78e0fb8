/**
 * Payloads in the store's encoding (./codec.ts), made where a task is submitted: encoding is
 * also the cloneability check, so what is encoded here is what reaches the worker.
 */
import { serialize } from 'node:v8';
import { NotCloneableError } from '../errors.js';
import { encodeBytes, encodedBytesSize } from './byte-payloads.js';
import { EncodedValue } from './encoded.js';
import { encodePlainAt, plainSize, type PlainPlace } from './plain-encoder.js';

/**
 * No payload, no bytes (stored as NULL, read back as undefined). Small plain values are
 * written by hand (./plain-encoder.ts: no native object, no ArrayBuffer per payload), and
 * so are bytes (./byte-payloads.ts: one copy); anything else by v8.serialize(). Throws
 * NotCloneableError (ERR_NOT_CLONEABLE).
 */
export function encodePayload(payload: unknown): EncodedValue | undefined {
  if (payload === undefined) return undefined;
  return encodeOther(payload, lastPlace) ?? new EncodedValue(lastPlace.slab, lastPlace.start, lastPlace.end);
}

const lastPlace: PlainPlace = { slab: Buffer.alloc(0), start: 0, end: 0 };

/**
 * The size of a payload's encoding, for a task that is not stored: checked for cloning and
 * measured as encodePayload would, without an object to hold bytes nobody keeps.
 */
export function encodedSize(payload: unknown): number {
  if (payload === undefined) return 0;
  let size: number;
  try {
    size = plainSize(payload);
  } catch (error) {
    throw new NotCloneableError('payload', error);
  }
  if (size >= 0) return size;
  const bytes = encodedBytesSize(payload);
  return bytes >= 0 ? bytes : encodeOther(payload, lastPlace)!.byteLength;
}

/**
 * Writes a small plain payload into a slab, saying where in `place` (and returns undefined),
 * or returns the bytes of anything else (bytes by hand, the rest by v8.serialize()). Throws
 * NotCloneableError.
 */
function encodeOther(payload: unknown, place: PlainPlace): EncodedValue | undefined {
  try {
    return encodePlainAt(payload, place) ? undefined : new EncodedValue(encodeBytes(payload) ?? serialize(payload));
  } catch (error) {
    throw new NotCloneableError('payload', error);
  }
}

const NONE = -1;
const OTHER = -2;

/**
 * The payloads of one submitMany, encoded while its items are checked (all of them, before
 * any is stored) and kept as places in the shared slabs, in typed arrays: no object per
 * item until its task is added. Objects made in the check and kept until the adding were
 * what the scavenger copied most in the first turns of a 100k submitMany (its longest
 * pauses, 10-17 ms).
 */
export class EncodedPayloads {
  readonly #slabs: Buffer[];
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  /** Payloads v8.serialize() encoded (not small and plain): rare, kept as they are. */
  readonly #others = new Map<number, EncodedValue>();
  readonly #place: PlainPlace = { slab: Buffer.alloc(0), start: 0, end: 0 };

  constructor(count: number) {
    this.#slabs = new Array<Buffer>(count);
    this.#starts = new Int32Array(count);
    this.#ends = new Int32Array(count);
  }

  /** Encodes item `index`'s payload. Throws NotCloneableError (ERR_NOT_CLONEABLE). */
  set(index: number, payload: unknown): void {
    if (payload === undefined) {
      this.#starts[index] = NONE;
      return;
    }
    const place = this.#place;
    const other = encodeOther(payload, place);
    if (other !== undefined) {
      this.#others.set(index, other);
      this.#starts[index] = OTHER;
      return;
    }
    this.#slabs[index] = place.slab;
    this.#starts[index] = place.start;
    this.#ends[index] = place.end;
  }

  /** How many bytes item `index`'s payload takes encoded (0 for none). */
  byteLength(index: number): number {
    const start = this.#starts[index]!;
    if (start === NONE) return 0;
    if (start === OTHER) return this.#others.get(index)!.byteLength;
    return this.#ends[index]! - start;
  }

  /** Item `index`'s encoded payload, or undefined when it has none. */
  get(index: number): EncodedValue | undefined {
    const start = this.#starts[index]!;
    if (start === NONE) return undefined;
    if (start === OTHER) return this.#others.get(index);
    return new EncodedValue(this.#slabs[index]!, start, this.#ends[index]!);
  }
}
