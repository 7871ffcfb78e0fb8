/*
 * The files of a SQLite store are the owner's alone (payloads and results may hold
 * secrets), a schema is never trusted, and the owner lock holds whatever else this process
 * does with the database file.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/open-database.js';
import { openRuntime, tempDatabase } from '../helpers.js';

const STORE = fileURLToPath(new URL('../../dist/src/store/sqlite-store.js', import.meta.url));

const modeOf = (file: string): number => fs.statSync(file).mode & 0o777;
const SIDE_FILES = ['', '-wal', '-shm', '.lock', '.owner'];

describe('the files of a SQLite store', () => {
  it('are created readable and writable by the owner only (0600), the database, its -wal and -shm, the lock and the owner note', async () => {
    const file = tempDatabase();
    const runtime = await openRuntime({ database: file, concurrency: 1 });
    await (await runtime.submit('noop')).result();
    for (const suffix of SIDE_FILES) expect([suffix, modeOf(file + suffix).toString(8)]).toEqual([suffix, '600']);
    await runtime.close();
  });

  it('take the fileMode asked for, and a file that exists keeps its own', async () => {
    const file = tempDatabase();
    const first = await openRuntime({ database: file, concurrency: 1, fileMode: 0o640 });
    for (const suffix of SIDE_FILES) expect([suffix, modeOf(file + suffix).toString(8)]).toEqual([suffix, '640']);
    await first.close();
    const again = await openRuntime({ database: file, concurrency: 1 });
    expect(modeOf(file).toString(8)).toBe('640');
    await again.close();
  });

  it('rejects a fileMode the owner could not use, or one given for PostgreSQL, with ERR_INVALID_OPTION', async () => {
    for (const fileMode of [0o400, 0o1000, -1, 1.5, '600']) {
      await expect(openRuntime({ database: tempDatabase(), fileMode: fileMode as number })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'fileMode' });
    }
    await expect(openRuntime({ database: 'postgres://u@127.0.0.1:1/db', fileMode: 0o600 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'fileMode' });
  });

  it('are opened with an untrusted schema, in defensive mode', () => {
    const file = tempDatabase();
    const { db, lock } = openDatabase(file);
    try {
      expect(db.pragma('trusted_schema', { simple: true })).toBe(0);
      // Defensive: even with writable_schema, the schema table cannot be changed by SQL.
      db.pragma('writable_schema = ON');
      expect(() => db.exec("UPDATE sqlite_schema SET sql = sql WHERE name = 'tasks'")).toThrow(/may not be modified/);
    } finally {
      db.close();
      lock?.release();
    }
  });

  it('keep their owner lock when this process opens and closes the database file through other descriptors', async () => {
    const file = tempDatabase();
    const runtime = await openRuntime({ database: file, concurrency: 1 });
    // SQLite's POSIX-lock trap: closing any descriptor of a file drops every lock the process
    // holds on that file. The lock is on <file>.lock, which nothing but its connection opens.
    fs.closeSync(fs.openSync(file, 'r'));
    fs.readFileSync(file);
    fs.closeSync(fs.openSync(`${file}-wal`, 'r'));
    const inspecting = await openRuntime({ database: ':memory:' }); // another store in the process
    await inspecting.close();
    // Another process is refused still: the kernel kept the lock.
    const script = `import(${JSON.stringify(STORE)}).then(({ SqliteTaskStore }) => {
      try { SqliteTaskStore.open(${JSON.stringify(file)}); console.log('opened'); } catch (error) { console.log(error.code); }
    })`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('ERR_STORE_LOCKED');
    await runtime.close();
  });
});
