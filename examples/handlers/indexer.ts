/**
 * Example handlers module: an indexer. Builds an inverted index of the words in the text
 * files of a folder (word -> the files and line numbers it occurs on) and writes it as JSON.
 * `search()` (a plain export, not a task type: handlers modules may export helpers) looks
 * words up in it.
 *
 *   const { output } = await (await rt.submit('buildIndex', { root: 'docs', output: 'docs.index.json' })).result();
 *   search(JSON.parse(readFileSync(output, 'utf8')), 'worker threads');
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { defineTask } from 'offthread/worker';

export interface IndexPayload {
  root: string;
  /** Where to write the index (JSON). */
  output: string;
  /** File extensions to index. @default ['.txt', '.md'] */
  extensions?: string[];
  /** Words shorter than this are left out. @default 2 */
  minLength?: number;
}

/** word -> relative path -> line numbers (1-based). */
export type Index = Record<string, Record<string, number[]>>;

export interface IndexResult {
  output: string;
  files: number;
  words: number;
  terms: number;
}

const WORD = /[\p{L}\p{N}]+/gu;

export const buildIndex = defineTask(async (payload: IndexPayload, ctx): Promise<IndexResult> => {
  const extensions = new Set(payload.extensions ?? ['.txt', '.md']);
  const minLength = payload.minLength ?? 2;
  const entries = await readdir(payload.root, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && extensions.has(extname(entry.name)))
    .map((entry) => relative(payload.root, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
  const index: Index = Object.create(null);
  let words = 0;
  for (const [i, file] of files.entries()) {
    await ctx.checkpoint();
    const lines = (await readFile(join(payload.root, file), 'utf8')).split('\n');
    for (const [n, line] of lines.entries()) {
      for (const match of line.toLowerCase().matchAll(WORD)) {
        const word = match[0];
        if (word.length < minLength) continue;
        words++;
        const where = (index[word] ??= Object.create(null) as Record<string, number[]>);
        const at = (where[file] ??= []);
        if (at[at.length - 1] !== n + 1) at.push(n + 1);
      }
    }
    ctx.progress(((i + 1) / files.length) * 100, file);
  }
  // Written to a temporary name, then renamed: a reader never sees half an index.
  await writeFile(`${payload.output}.partial`, JSON.stringify(index));
  await rename(`${payload.output}.partial`, payload.output);
  return { output: payload.output, files: files.length, words, terms: Object.keys(index).length };
});

/** The files (and lines) that contain every word of `query`. */
export function search(index: Index, query: string): Record<string, number[]> {
  const words = query.toLowerCase().match(WORD) ?? [];
  let hits: Record<string, number[]> | undefined;
  for (const word of words) {
    const where = index[word] ?? {};
    if (hits === undefined) hits = { ...where };
    else for (const file of Object.keys(hits)) if (!(file in where)) delete hits[file];
  }
  return hits ?? {};
}
