/*
 * A database on a filesystem that fills up, for real: a 2 MiB tmpfs mounted by the test
 * (these tests run as root, as CI does). Writes that fail say so with ERR_STORE_FULL, the
 * host hears of it once per episode, and once space returns the runtime writes again
 * without a restart.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime } from '../helpers.js';

const asRoot = process.getuid?.() === 0;
const mounted: string[] = [];

afterEach(() => {
  for (const dir of mounted.splice(0)) {
    execFileSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function smallDisk(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offthread-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

/** Fills the filesystem of `dir` with a file, leaving about `leftBytes` free. */
function fill(dir: string, leftBytes: number): string {
  const filler = path.join(dir, 'filler');
  const { bavail, bsize } = fs.statfsSync(dir);
  fs.writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - leftBytes)));
  return filler;
}

describe.runIf(asRoot)('a database on a full disk', () => {
  it('rejects writes with ERR_STORE_FULL, warns once per episode, and writes again once space returns, without a restart', async () => {
    const dir = smallDisk();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const runtime = await openRuntime({ database: path.join(dir, 'tasks.db'), concurrency: 1 });
      await (await runtime.submit('echo', 'before')).result();
      const filler = fill(dir, 64 * 1024);
      const payload = 'x'.repeat(10_000);
      let refused: unknown;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        await runtime.submit('echo', payload).catch((error: unknown) => (refused = error));
      }
      expect(refused).toMatchObject({ code: 'ERR_STORE_FULL', name: 'StoreFullError' });
      // More refused writes in the same episode: no more warnings.
      for (let i = 0; i < 5; i++) await expect(runtime.submit('echo', payload)).rejects.toMatchObject({ code: 'ERR_STORE_FULL' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes('cannot write'))).toHaveLength(1);
      // Space returns: the next submit is stored and runs, and the episode is over.
      fs.rmSync(filler);
      expect(await (await runtime.submit('echo', 'after')).result()).toBe('after');
      expect(warnings.filter((w) => w.includes('writes again'))).toHaveLength(1);
      await runtime.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
