import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { encodeBytes, encodedBytesSize } from '../../src/store/byte-payloads.js';
import { encodedSize, encodePayload } from '../../src/store/encoded-payloads.js';

describe('bytes written by hand in V8’s format', () => {
  const lengths = [1, 2, 127, 128, 129, 16_383, 16_384, 2_097_151, 2_097_152];

  it('are the bytes v8.serialize() writes, for Uint8Arrays, Buffers and views into larger buffers', () => {
    for (const length of lengths) {
      const array = new Uint8Array(length).map((_, i) => i % 251);
      const buffer = Buffer.from(array);
      const view = new Uint8Array(array.buffer, 1, length - 1);
      for (const value of [array, buffer, ...(length > 1 ? [view] : [])]) {
        const bytes = encodeBytes(value)!;
        expect(bytes.equals(serialize(value)), `${value.constructor.name} of ${value.byteLength}`).toBe(true);
        expect(encodedBytesSize(value)).toBe(bytes.length);
        const back = deserialize(bytes) as Uint8Array;
        expect(back.constructor).toBe(value.constructor);
        expect(Buffer.from(back).equals(Buffer.from(value))).toBe(true);
      }
    }
  });

  it('leave other views, subclasses and empty or detached views to v8.serialize()', () => {
    class Tagged extends Uint8Array {}
    const detached = new Uint8Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    for (const value of [new Uint16Array(4), new Tagged(4), new Uint8Array(0), detached, new DataView(new ArrayBuffer(4)), 'text', null]) {
      expect(encodeBytes(value)).toBeUndefined();
      expect(encodedBytesSize(value)).toBe(-1);
    }
    expect(() => encodePayload(detached)).toThrow(expect.objectContaining({ code: 'ERR_NOT_CLONEABLE' }));
  });

  it('are what a submit stores for a byte payload, and what a task that is not stored is measured by', () => {
    const payload = Buffer.alloc(100_000, 3);
    expect(Buffer.from(encodePayload(payload)!.bytes).equals(serialize(payload))).toBe(true);
    expect(encodedSize(payload)).toBe(serialize(payload).length);
  });
});
