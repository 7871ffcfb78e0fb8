/** Stored values (structured-clone values) as indented JSON text for a page, cut when huge. */

/** Past this many characters a value is cut; the page offers the whole of it on request. */
export const TRUNCATE_AT = 20_000;

export interface JsonText {
  text: string;
  truncated: boolean;
  length: number;
}

export function jsonText(value: unknown, full: boolean): JsonText {
  let text: string;
  try {
    text = JSON.stringify(value, replacer, 2) ?? 'undefined';
  } catch (error) {
    text = `(cannot be shown as JSON: ${(error as Error).message})`;
  }
  const truncated = !full && text.length > TRUNCATE_AT;
  return { text: truncated ? `${text.slice(0, TRUNCATE_AT)}…` : text, truncated, length: text.length };
}

function replacer(this: unknown, _key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (v instanceof Set) return [...v];
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
  if (v instanceof Error) return { name: v.name, message: v.message };
  return v;
}
