import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { EncodedPayloads, encodePayload } from '../../src/store/encoded-payloads.js';

describe('EncodedPayloads (a submitMany’s payloads, kept as places in shared slabs)', () => {
  it('gives back each payload’s bytes, plain or not, and nothing for no payload', () => {
    const payloads: unknown[] = [{ n: 1 }, undefined, new Map([['k', 1n]]), 'text', null, [1, 'é'], 'x'.repeat(5000)];
    const encoded = new EncodedPayloads(payloads.length);
    payloads.forEach((payload, i) => encoded.set(i, payload));
    payloads.forEach((payload, i) => {
      const value = encoded.get(i);
      if (payload === undefined) expect(value).toBeUndefined();
      else expect(deserialize(value!.bytes)).toStrictEqual(payload);
    });
  });

  it('keeps every place intact across many slabs', () => {
    const payloads = Array.from({ length: 5000 }, (_, i) => ({ i, text: 'y'.repeat(i % 300) }));
    const encoded = new EncodedPayloads(payloads.length);
    payloads.forEach((payload, i) => encoded.set(i, payload));
    payloads.forEach((payload, i) => expect(deserialize(encoded.get(i)!.bytes)).toStrictEqual(payload));
  });

  it('rejects a payload that cannot be cloned with ERR_NOT_CLONEABLE, as a single submit does', () => {
    const encoded = new EncodedPayloads(1);
    expect(() => encoded.set(0, { f: () => 1 })).toThrow(expect.objectContaining({ code: 'ERR_NOT_CLONEABLE' }));
    expect(() => encodePayload({ f: () => 1 })).toThrow(expect.objectContaining({ code: 'ERR_NOT_CLONEABLE' }));
  });
});
