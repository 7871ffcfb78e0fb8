/*
 * One owner per database file (docs/guides/what-survives-what.md). Never read `<file>.lock`
 * or a held database file with node:fs from this process: closing any descriptor of a file
 * drops every POSIX lock the process holds on it, so byte comparisons of held files are
 * made while a child process owns them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import { openRuntime, tempDatabase } from '../helpers.js';

const HOLDER = fileURLToPath(new URL('../fixtures/hold-store.mjs', import.meta.url));

const dirs: string[] = [];
const stores: SqliteTaskStore[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offthread-lock-'));
  dirs.push(dir);
  return path.join(dir, 'tasks.db');
}

function open(file: string, options?: Parameters<typeof SqliteTaskStore.open>[1]): SqliteTaskStore {
  const store = SqliteTaskStore.open(file, options);
  stores.push(store);
  return store;
}

function openError(file: string, options?: Parameters<typeof SqliteTaskStore.open>[1]): Error & Record<string, unknown> {
  try {
    open(file, options);
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error(`expected the open of ${file} to throw`);
}

/** A child process that owns `file`; resolves once it says so. */
async function holdInChild(file: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [HOLDER, file]);
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) if (line === 'locked') return child;
  throw new Error(`the holder exited before taking the lock: ${stderr}`);
}

function exited(child: ChildProcessWithoutNullStreams): Promise<unknown> {
  return new Promise((resolve) => child.once('exit', resolve));
}

/** The database and its WAL, byte for byte (null for a file that is not there). */
const snapshot = (file: string) =>
  ['', '-wal'].map((suffix) => (fs.existsSync(file + suffix) ? fs.readFileSync(file + suffix).toString('base64') : null));

describe('one owner per database file', () => {
  it('refuses a second read-write open in the same process with ERR_STORE_LOCKED naming the file and pid', async () => {
    const file = tempFile();
    open(file);
    const error = openError(file);
    expect(error).toMatchObject({ code: 'ERR_STORE_LOCKED', file, owner: { pid: process.pid, hostname: os.hostname() } });
    expect(error.message).toContain(file);
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toContain('readonly');
  });

  it('refuses an open through another path to the same file (a symlink)', () => {
    const file = tempFile();
    const link = path.join(path.dirname(file), 'link.db');
    open(file);
    fs.symlinkSync(file, link);
    expect(openError(link)).toMatchObject({ code: 'ERR_STORE_LOCKED', file: link });
  });

  it('always allows a read-only open while the file is owned', async () => {
    const file = tempFile();
    open(file);
    const reader = open(file, { readonly: true });
    expect(await reader.stats()).toMatchObject({ total: 0 });
  });

  it('lets the next open in after close, and removes the owner note', async () => {
    const file = tempFile();
    await open(file).close();
    expect(fs.existsSync(`${file}.owner`)).toBe(false);
    open(file);
    expect(JSON.parse(fs.readFileSync(`${file}.owner`, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('takes no lock for :memory:', () => {
    open(':memory:');
    open(':memory:');
  });

  it('refuses while another process owns the file, leaves the file unchanged, and takes over at once after SIGKILL', async () => {
    const file = tempFile();
    const child = await holdInChild(file);
    const before = snapshot(file);

    const error = openError(file);
    expect(error).toMatchObject({ code: 'ERR_STORE_LOCKED', owner: { pid: child.pid } });
    expect(error.message).toContain(`pid ${child.pid}`);
    expect(snapshot(file)).toEqual(before);

    const gone = exited(child);
    child.kill('SIGKILL');
    await gone;
    // No wait and no retry: the kernel released the dead process's lock with the process.
    const store = open(file);
    expect(await store.stats()).toMatchObject({ total: 0 });
    expect(JSON.parse(fs.readFileSync(`${file}.owner`, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('takes over after the other process closes its store', async () => {
    const file = tempFile();
    const child = await holdInChild(file);
    const gone = exited(child);
    child.stdin.end();
    await gone;
    expect(fs.existsSync(`${file}.owner`)).toBe(false);
    open(file);
  });
});

describe('a failed open leaves nothing behind', () => {
  const siblings = (file: string) => fs.readdirSync(path.dirname(file)).sort();

  it('reports a lock file that cannot be created as ERR_STORE_UNAVAILABLE, naming it, and does not touch the database', async () => {
    const file = tempFile();
    await open(file).close();
    // The lock file outlives close (see owner-lock.ts); a folder in its place cannot be locked.
    fs.rmSync(`${file}.lock`);
    fs.mkdirSync(`${file}.lock`);
    const before = snapshot(file);
    const error = openError(file);
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(error.message).toContain(`${file}.lock`);
    expect(snapshot(file)).toEqual(before);
    expect(fs.existsSync(`${file}.owner`)).toBe(false);
  });

  it('leaves no lock or owner file after ERR_STORE_CORRUPT', () => {
    const file = tempFile();
    fs.writeFileSync(file, 'plain text, not a database '.repeat(100));
    expect(openError(file)).toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    expect(siblings(file)).toEqual(['tasks.db']);
  });

  it('reports a folder that is a regular file (ENOTDIR) as ERR_STORE_UNAVAILABLE and creates nothing', () => {
    const parent = tempFile();
    fs.writeFileSync(parent, 'a file, not a folder');
    const file = path.join(parent, 'tasks.db');
    const error = openError(file);
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', file });
    expect(error.message).toContain(file);
    expect(siblings(parent)).toEqual(['tasks.db']);
  });

  // sysfs refuses new files even to root, unlike a chmod-ed folder (these tests run as root).
  it.runIf(process.platform === 'linux' && fs.existsSync('/sys/kernel'))(
    'reports a folder that cannot be written as ERR_STORE_UNAVAILABLE',
    () => {
      const file = '/sys/offthread-tasks.db';
      expect(openError(file)).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', file });
      expect(fs.existsSync(file)).toBe(false);
    },
  );

  it('rejects an unknown durability with ERR_INVALID_OPTION before creating the file', () => {
    const file = tempFile();
    expect(openError(file, { durability: 'paranoid' as never })).toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'durability' });
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('one runtime per database file', () => {
  it('a second runtime on a file in use gets ERR_STORE_LOCKED naming the file and the owner pid', async () => {
    const database = tempDatabase();
    const owner = await openRuntime({ database });
    const error = await openRuntime({ database }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_STORE_LOCKED' });
    expect((error as Error).message).toContain(database);
    expect((error as Error).message).toContain(String(process.pid));
    await owner.close();
    const next = await openRuntime({ database });
    await next.close();
  });
});
