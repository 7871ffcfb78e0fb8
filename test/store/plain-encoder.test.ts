import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { encodePlain } from '../../src/store/plain-encoder.js';

/** A small deterministic generator (mulberry32), so a failure names a value that can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'Z', '0', ' ', 'é', 'ÿ', '\u0000', '€', '中', '\ud83d\ude00', '\ud800', '"', '\\'];
const NUMBERS = [0, -0, 1, -1, 63, 64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 1.5, -1e-300, 1e300, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity];

function plainValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 8));
  switch (pick) {
    case 0:
      return Array.from({ length: Math.floor(next() * 12) }, () => CHARS[Math.floor(next() * CHARS.length)]).join('');
    case 1:
      return NUMBERS[Math.floor(next() * NUMBERS.length)];
    case 2:
      return next() < 0.5;
    case 3:
      return next() < 0.5 ? null : undefined;
    case 4:
      return Math.floor(next() * 1e6) - 5e5;
    case 5:
      return Array.from({ length: Math.floor(next() * 5) }, () => plainValue(next, depth + 1));
    default: {
      const object: Record<string, unknown> = next() < 0.2 ? Object.create(null) : {};
      const size = Math.floor(next() * 5);
      for (let i = 0; i < size; i++) {
        const key = next() < 0.3 ? String(Math.floor(next() * 20)) : String(plainValue(next, 9));
        object[key] = plainValue(next, depth + 1);
      }
      return object;
    }
  }
}

describe('encodePlain', () => {
  it('writes bytes that v8.deserialize() reads back to what v8.serialize() would give, for 20k plain values', () => {
    const next = random(42);
    let encoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const value = plainValue(next, 0);
      const bytes = encodePlain(value)?.bytes;
      if (bytes === undefined) continue;
      encoded++;
      expect(deserialize(bytes), `value #${i}: ${JSON.stringify(value)}`).toStrictEqual(deserialize(serialize(value)));
    }
    expect(encoded).toBeGreaterThan(19_000); // plain values take the fast path
  });

  it('keeps each value whole while later ones fill the shared slabs', () => {
    // Payloads share 8 KB slabs; one written later must never overwrite an earlier one.
    const values = Array.from({ length: 3000 }, (_, i) => ({ i, text: 'x'.repeat(i % 700), list: [i, -i] }));
    const encoded = values.map((value) => encodePlain(value)!);
    encoded.forEach((value, i) => expect(deserialize(value.bytes)).toStrictEqual(values[i]));
  });

  it('keeps -0, NaN, lone surrogates, two-byte text and integer-like keys', () => {
    const value = { '1': 'one', z: -0, n: NaN, s: '\ud800x€', list: [1, 'é', [null, undefined]], '0': 0 };
    const back = deserialize(encodePlain(value)!.bytes) as typeof value;
    expect(Object.is(back.z, -0)).toBe(true);
    expect(back).toStrictEqual(deserialize(serialize(value)));
    expect(Object.keys(back)).toEqual(Object.keys(value));
  });

  it('leaves to v8.serialize() what is not small and plain', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    class Point {
      x = 1;
    }
    const notPlain: unknown[] = [
      new Date(0),
      new Map([[1, 2]]),
      new Uint8Array(3),
      Buffer.from('x'),
      new Point(),
      [shared, shared], // one object twice: V8 keeps it one object
      cyclic,
      [1, , 3], // a hole
      Object.assign([1, 2], { extra: true }),
      new Proxy({ a: 1 }, {}),
      'x'.repeat(5000),
      Array.from({ length: 3000 }, (_, i) => i),
      10n,
      Symbol('s'),
      () => 1,
    ];
    for (const value of notPlain) expect(encodePlain(value), String(value)).toBeUndefined();
  });

  it('is not fooled by nesting deeper than it writes', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(encodePlain(deep)).toBeUndefined();
  });
});
