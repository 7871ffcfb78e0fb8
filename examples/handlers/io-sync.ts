/**
 * Example handlers module: an I/O sync that honours `ctx.signal`. Mirrors the files a
 * server lists (GET `<base>/manifest.json`: `[{ path, size, sha256 }]`) into a local folder,
 * downloading only the files that are missing or differ.
 *
 * I/O-bound handlers spend their time waiting, not at a `ctx.checkpoint()`: hand
 * `ctx.signal` to whatever waits (`fetch`, streams, timers) so a cancel or a timeout stops
 * the download at once, rather than after `cancelGraceMs` when the thread is terminated.
 * Each file is downloaded to a temporary name and renamed once its hash checks out, so an
 * interrupted sync leaves no half file behind and the next run skips what is done.
 *
 *   await rt.submit('syncFromServer', { base: 'https://example.com/files', target: './mirror' }, { timeoutMs: 60_000 });
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { defineTask } from 'offthread/worker';

export interface SyncPayload {
  /** Base URL: `<base>/manifest.json` lists the files, `<base>/<path>` serves each. */
  base: string;
  /** Local folder to mirror into. */
  target: string;
}

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface SyncResult {
  downloaded: string[];
  skipped: string[];
  bytes: number;
}

async function localHash(path: string, signal: AbortSignal): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { signal }) as AsyncIterable<Buffer>) hash.update(chunk);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  return hash.digest('hex');
}

export const syncFromServer = defineTask(async (payload: SyncPayload, ctx): Promise<SyncResult> => {
  const { signal } = ctx;
  const base = payload.base.replace(/\/$/, '');
  const response = await fetch(`${base}/manifest.json`, { signal });
  if (!response.ok) throw new Error(`GET ${base}/manifest.json: HTTP ${response.status}`);
  const manifest = (await response.json()) as ManifestEntry[];
  const total = manifest.reduce((sum, entry) => sum + entry.size, 0) || 1;
  const result: SyncResult = { downloaded: [], skipped: [], bytes: 0 };
  let done = 0;
  for (const entry of manifest) {
    await ctx.checkpoint();
    const local = join(payload.target, normalize(entry.path));
    if (!local.startsWith(normalize(payload.target) + sep)) throw new Error(`manifest path escapes the target: ${entry.path}`);
    if ((await localHash(local, signal)) === entry.sha256) {
      result.skipped.push(entry.path);
    } else {
      await mkdir(dirname(local), { recursive: true });
      const partial = `${local}.partial`;
      try {
        const file = await fetch(`${base}/${entry.path.split('/').map(encodeURIComponent).join('/')}`, { signal });
        if (!file.ok || file.body === null) throw new Error(`GET ${entry.path}: HTTP ${file.status}`);
        const hash = createHash('sha256');
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            result.bytes += chunk.length;
            ctx.progress(Math.min(99.9, ((done + result.bytes) / total) * 100), entry.path);
            callback(null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(file.body as import('node:stream/web').ReadableStream), counted, createWriteStream(partial), { signal });
        if (hash.digest('hex') !== entry.sha256) throw new Error(`${entry.path}: the download does not match its sha256`);
        await rename(partial, local);
      } finally {
        await rm(partial, { force: true });
      }
      result.downloaded.push(entry.path);
    }
    done += entry.size;
    ctx.progress((done / total) * 100, entry.path);
  }
  return result;
});
