/** Stored values (structured-clone values) as indented JSON text for a page, cut when huge. */
import { cloneValueReplacer } from '../inspect/json-values.js';

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
    text = JSON.stringify(value, cloneValueReplacer, 2) ?? 'undefined';
  } catch (error) {
    text = `(cannot be shown as JSON: ${(error as Error).message})`;
  }
  const truncated = !full && text.length > TRUNCATE_AT;
  return { text: truncated ? `${text.slice(0, TRUNCATE_AT)}…` : text, truncated, length: text.length };
}
