/**
 * Stored payloads and results are structured-clone values: BigInt, Map, Set, typed arrays
 * and Errors have no JSON of their own. This replacer writes each as the nearest JSON, for
 * the CLI and the dashboard alike.
 */
export function cloneValueReplacer(this: unknown, _key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (v instanceof Set) return [...v];
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
  if (v instanceof Error) return { name: v.name, message: v.message };
  return v;
}
