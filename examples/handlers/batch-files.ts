/**
 * Example handlers module: batch file processing. Gzips a list of files into an output
 * folder, one file at a time. A file that cannot be read does not fail the batch: it is
 * reported in `failed`, and the rest goes on. Progress is per file; a pause or a cancel
 * takes effect between files, and a half-written output is never left behind (each file
 * is written to a temporary name, then renamed).
 *
 *   await rt.submit('gzipFiles', { files: ['a.log', 'b.log'], outDir: 'archive' });
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { defineTask } from 'offthread/worker';

export interface GzipPayload {
  files: string[];
  outDir: string;
  /** zlib level, 1 (fast) to 9 (small). @default 6 */
  level?: number;
}

export interface GzipResult {
  written: { file: string; output: string; bytesIn: number; bytesOut: number }[];
  failed: { file: string; error: string }[];
}

export const gzipFiles = defineTask(async (payload: GzipPayload, ctx): Promise<GzipResult> => {
  await mkdir(payload.outDir, { recursive: true });
  const result: GzipResult = { written: [], failed: [] };
  for (const [i, file] of payload.files.entries()) {
    await ctx.checkpoint();
    const output = join(payload.outDir, `${basename(file)}.gz`);
    const partial = `${output}.partial`;
    try {
      await pipeline(createReadStream(file), createGzip({ level: payload.level ?? 6 }), createWriteStream(partial), { signal: ctx.signal });
      await rename(partial, output);
      result.written.push({ file, output, bytesIn: (await stat(file)).size, bytesOut: (await stat(output)).size });
    } catch (error) {
      await rm(partial, { force: true });
      if (ctx.signal.aborted) throw error; // cancelled: end the task, not just this file
      result.failed.push({ file, error: (error as Error).message });
    }
    ctx.progress(((i + 1) / payload.files.length) * 100, basename(file));
  }
  return result;
});
