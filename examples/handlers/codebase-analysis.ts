/**
 * Example handlers module: codebase analysis. Walks a folder, hashes every file (SHA-256)
 * and counts files, bytes and lines per extension.
 *
 * It shows the three things a long handler should do:
 *   - `await ctx.checkpoint()` between files: a pause stops here, a cancel throws here;
 *   - `ctx.progress(percent, message)` as it goes;
 *   - `ctx.saveCheckpoint(state)` every few files, and `ctx.checkpointState` at the start: a
 *     run interrupted by a crash, a close or a retry goes on from the last saved file instead
 *     of starting over.
 *
 *   const rt = await TaskRuntime.open({ handlers: new URL('./codebase-analysis.js', import.meta.url), database: 'tasks.db' });
 *   const report = await (await rt.submit('analyzeCodebase', { root: '/path/to/repo' })).result();
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { defineTask } from 'offthread/worker';

export interface AnalyzePayload {
  /** The folder to analyze. */
  root: string;
  /** Folder names to skip anywhere in the tree. @default ['node_modules', '.git'] */
  ignore?: string[];
  /** Save a checkpoint every this many files. @default 50 */
  checkpointEvery?: number;
}

export interface ExtensionStats {
  files: number;
  bytes: number;
  lines: number;
}

export interface AnalyzeReport {
  files: number;
  bytes: number;
  byExtension: Record<string, ExtensionStats>;
  /** Relative path -> SHA-256 (hex). */
  hashes: Record<string, string>;
  /** One SHA-256 over every (path, hash), in path order: changes when any file does. */
  treeHash: string;
  /** Files hashed by this run (fewer than `files` when it went on from a checkpoint). */
  hashedThisRun: number;
}

interface State {
  /** How many files of the sorted list are done. */
  done: number;
  byExtension: Record<string, ExtensionStats>;
  hashes: Record<string, string>;
}

/** Every file under `root`, relative, sorted: the same order on every run. */
async function listFiles(root: string, ignore: Set<string>): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (ignore.has(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(relative(root, full));
    }
  };
  await walk(root);
  return files.sort();
}

/** Hashes a file and counts its lines in one streaming pass. */
async function hashFile(path: string, signal: AbortSignal): Promise<{ hash: string; bytes: number; lines: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  for await (const chunk of createReadStream(path, { signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { hash: hash.digest('hex'), bytes, lines };
}

export const analyzeCodebase = defineTask(async (payload: AnalyzePayload, ctx): Promise<AnalyzeReport> => {
  const every = payload.checkpointEvery ?? 50;
  const files = await listFiles(payload.root, new Set(payload.ignore ?? ['node_modules', '.git']));
  const saved = ctx.checkpointState as State | undefined;
  const state: State = saved ?? { done: 0, byExtension: {}, hashes: {} };
  const startedAt = state.done;
  for (; state.done < files.length; ) {
    await ctx.checkpoint();
    const file = files[state.done]!;
    const { hash, bytes, lines } = await hashFile(join(payload.root, file), ctx.signal);
    state.hashes[file] = hash;
    const ext = extname(file) || '(none)';
    const stats = (state.byExtension[ext] ??= { files: 0, bytes: 0, lines: 0 });
    stats.files++;
    stats.bytes += bytes;
    stats.lines += lines;
    state.done++;
    if (state.done % every === 0) ctx.saveCheckpoint(state);
    ctx.progress((state.done / files.length) * 100, file);
  }
  const tree = createHash('sha256');
  for (const file of files) tree.update(`${file}\0${state.hashes[file]}\n`);
  return {
    files: files.length,
    bytes: Object.values(state.byExtension).reduce((sum, s) => sum + s.bytes, 0),
    byExtension: state.byExtension,
    hashes: state.hashes,
    treeHash: tree.digest('hex'),
    hashedThisRun: files.length - startedAt,
  };
});
