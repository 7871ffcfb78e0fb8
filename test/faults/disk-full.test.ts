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
import type { StoreHealth, TaskHandle } from 'offthread';
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

/** Resolves with the first warning that contains `text`. */
function warningOf(text: string): Promise<string> {
  return new Promise((resolve) => {
    const listener = (warning: Error): void => {
      if (!warning.message.includes(text)) return;
      process.off('warning', listener);
      resolve(warning.message);
    };
    process.on('warning', listener);
  });
}

describe.runIf(asRoot)('a database on a full disk', () => {
  it('keeps what it accepted until it is written, refuses new tasks with ERR_STORE_FULL meanwhile, warns once, and goes on once space returns', async () => {
    const dir = smallDisk();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const file = path.join(dir, 'tasks.db');
      const runtime = await openRuntime({ database: file, concurrency: 1 });
      const health: StoreHealth[] = [];
      runtime.health$.subscribe((state) => health.push(state));
      await (await runtime.submit('echo', 'before')).result();
      const filler = fill(dir, 64 * 1024);
      const payload = 'x'.repeat(10_000);
      // Submits until one cannot be written: that one is not refused (it was accepted), it waits.
      const failing = warningOf('is failing');
      let waiting: Promise<TaskHandle> | undefined;
      for (let i = 0; i < 500 && waiting === undefined; i++) {
        const submitted = runtime.submit('echo', `${i} ${payload}`);
        if ((await Promise.race([submitted.then(() => 'stored'), failing.then(() => 'failing')])) === 'failing') waiting = submitted;
      }
      expect(waiting).toBeDefined();
      expect(await failing).toContain('ERR_STORE_FULL');
      // New tasks are refused, typed, while it waits; no more warnings in this episode.
      for (let i = 0; i < 5; i++) {
        await expect(runtime.submit('echo', payload)).rejects.toMatchObject({ code: 'ERR_STORE_FULL', name: 'StoreFullError' });
      }
      await expect(runtime.submitMany([{ type: 'echo', payload }])).rejects.toMatchObject({ code: 'ERR_STORE_FULL' });
      // A task that is not stored needs no disk: it is taken, and runs, meanwhile.
      expect(await (await runtime.submit('echo', 'in memory', { durable: false })).result()).toBe('in memory');
      // A schedule is written by its own statement, not the batch: typed all the same.
      await expect(runtime.schedule('big', '0 3 * * *', 'echo', 'y'.repeat(400_000))).rejects.toMatchObject({
        code: 'ERR_STORE_FULL',
        name: 'StoreFullError',
        cause: { code: 'SQLITE_FULL' },
      });
      expect(warnings.filter((w) => w.includes('is failing'))).toHaveLength(1);
      // Space returns: the accepted task is written, its submit resolves, it runs; new ones are taken.
      expect(health.map((state) => state.status)).toEqual(['ok', 'failing']);
      expect(health[1]).toMatchObject({ error: { code: 'ERR_STORE_FULL' } });
      const recovered = warningOf('works again');
      fs.rmSync(filler);
      const freedAt = performance.now();
      const handle = await waiting!;
      // The figure the docs quote: how long after space returns the waiting submit is stored.
      console.log(`disk full: recovered ${Math.round(performance.now() - freedAt)} ms after space returned`);
      expect(String(await handle.result())).toMatch(/ x+$/);
      await recovered;
      expect(await (await runtime.submit('echo', 'after')).result()).toBe('after');
      expect(await runtime.get(handle.id)).toMatchObject({ status: 'completed' });
      expect(health.map((state) => state.status)).toEqual(['ok', 'failing', 'ok']);
      expect(warnings.filter((w) => w.includes('is failing'))).toHaveLength(1);
      await runtime.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a large payload, kept beside the database, waits for space the same way, with ERR_STORE_FULL', async () => {
    const dir = smallDisk();
    const runtime = await openRuntime({ database: path.join(dir, 'tasks.db'), concurrency: 1 });
    await (await runtime.submit('echo', 'before')).result();
    const states: StoreHealth[] = [];
    let failed!: () => void;
    const failing = new Promise<void>((resolve) => (failed = resolve));
    let recovered!: () => void;
    const ok = new Promise<void>((resolve) => (recovered = resolve));
    runtime.health$.subscribe((state) => {
      states.push(state);
      if (state.status === 'failing') failed();
      if (state.status === 'ok' && states.length > 1) recovered();
    });
    const filler = fill(dir, 64 * 1024);
    // 300 KB: more than is free, and over the size kept beside the rows.
    const payload = new Uint8Array(300 * 1024).fill(9);
    const submitted = runtime.submit('echo', payload);
    await failing;
    expect(states.at(-1)).toMatchObject({ status: 'failing', error: { code: 'ERR_STORE_FULL' } });
    fs.rmSync(filler);
    const handle = await submitted;
    await ok;
    expect(await handle.result()).toEqual(payload);
    await runtime.close();
  });
});
