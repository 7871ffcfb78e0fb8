/**
 * Large payloads (an image, a document) and large results, kept beside the SQLite database
 * instead of in their rows: in a directory next to the file (`<database>-payloads/`, one file
 * each), or, for ':memory:', in memory. The row names its payload's file (column
 * payload_file) and its result's (result_file).
 *
 * Why: a 1 MB BLOB costs SQLite ~4 ms on the main thread to insert into a WAL file, and as
 * much again at every UPDATE of its row (SQLite rewrites the whole record: the task's start
 * and end), against ~0.8 ms to write the same bytes to a file, which here is done on libuv's
 * threads, off the main thread. In memory the insert was 0.7 ms and each update 0.2 ms.
 *
 * The order keeps a row from naming what is not there: the files of a batch are written
 * (and, with `durability: 'full'`, synced with their directory) before the transaction that
 * names them commits. A file is removed after the row that named it is gone or names another.
 * A crash between the two leaves a file no row names, removed at the next open (`sweep`).
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreFullError, StoreIOError } from '../errors.js';
import type { Durability } from './open-database.js';

/** Payloads this large or larger (their encoding, in bytes) are shelved; smaller ones stay in their rows. */
export const SHELF_MIN_BYTES = 64 * 1024;

/** A payload to write: its name and its bytes. */
export type ShelfItem = readonly [name: string, bytes: Uint8Array];

export interface PayloadShelf {
  /** Writes payloads; once this resolves they are there, and rows may name them. Throws StoreFullError or StoreIOError. */
  put(items: readonly ShelfItem[]): Promise<void>;
  /** A payload's bytes (rows are read synchronously). Throws StoreIOError when it cannot be read. */
  read(name: string): Buffer;
  /** Removes payloads no row names any more. Never rejects: what is left is swept at the next open. */
  remove(names: readonly string[]): Promise<void>;
  /** At open, before any write: removes the payloads for which `named` says no row names them. */
  sweep(named: (name: string) => boolean): void;
}

/** Which shelf a database gets: in memory for ':memory:' and '' (SQLite's private temp file), else a directory beside it. */
export function shelfFor(path: string, durability: Durability, fileMode: number): PayloadShelf {
  return path === ':memory:' || path === '' ? new MemoryShelf() : new DirectoryShelf(path, `${path}-payloads`, durability, fileMode);
}

let counter = 0;
/**
 * A name no other payload has: a new row's payload is named by its seq, `<seq>`; a payload
 * that replaces another (a debounced submit, `first` false) gets one of its own,
 * `<seq>.<time><count>`, so the old one stays whole until the row names the new one.
 */
export function payloadName(seq: number, first: boolean): string {
  return first ? String(seq) : `${seq}.${Date.now().toString(36)}${(counter++).toString(36)}`;
}

const RESULT = 'r-';
/** Task ids are UUIDs: only such a name is ever made into a file's. */
const SAFE_ID = /^[0-9a-f-]{1,64}$/;

/**
 * The name of a task's result on the shelf, `r-<id>`, or undefined for an id that could not
 * be a file's name (it stays in its row). A task has one result, written once: the same
 * name each time, since its end's patch knows its id, not its seq.
 */
export function resultName(id: string): string | undefined {
  return SAFE_ID.test(id) ? RESULT + id : undefined;
}

/** The id of the task whose result `name` holds, or undefined for a payload's name. */
export function resultIdOf(name: string): string | undefined {
  return name.startsWith(RESULT) ? name.slice(RESULT.length) : undefined;
}

class MemoryShelf implements PayloadShelf {
  readonly #payloads = new Map<string, Buffer>();

  async put(items: readonly ShelfItem[]): Promise<void> {
    // Kept as they are, not copied: a payload's encoding is made for its task and never
    // written to again (what goes to the worker is a clone of it).
    for (const [name, bytes] of items) this.#payloads.set(name, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  read(name: string): Buffer {
    const bytes = this.#payloads.get(name);
    if (bytes === undefined) throw new StoreIOError(':memory:', new Error(`the payload ${name} is missing`));
    return bytes;
  }

  async remove(names: readonly string[]): Promise<void> {
    for (const name of names) this.#payloads.delete(name);
  }

  sweep(): void {}
}

class DirectoryShelf implements PayloadShelf {
  readonly #database: string;
  readonly #dir: string;
  readonly #sync: boolean;
  readonly #fileMode: number;
  #made = false;

  constructor(database: string, dir: string, durability: Durability, fileMode: number) {
    this.#database = database;
    this.#dir = dir;
    this.#sync = durability === 'full';
    this.#fileMode = fileMode;
  }

  async put(items: readonly ShelfItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      this.#makeDir();
      await Promise.all(items.map(([name, bytes]) => this.#write(join(this.#dir, name), bytes)));
      if (this.#sync) await syncPath(this.#dir);
    } catch (error) {
      throw this.#typed(error);
    }
  }

  read(name: string): Buffer {
    try {
      return readFileSync(join(this.#dir, name));
    } catch (error) {
      throw new StoreIOError(this.#database, error);
    }
  }

  async remove(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => unlink(join(this.#dir, name)).catch(() => undefined)));
  }

  sweep(named: (name: string) => boolean): void {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return; // no payload was ever shelved
    }
    this.#made = true;
    for (const name of names) {
      if (named(name)) continue;
      try {
        unlinkSync(join(this.#dir, name));
      } catch {
        // Not ours to remove, or gone: it is never read.
      }
    }
  }

  #makeDir(): void {
    if (this.#made) return;
    // Readable (and searchable) by whoever may read the database: its mode's read bits, plus x.
    mkdirSync(this.#dir, { recursive: true, mode: this.#fileMode | ((this.#fileMode & 0o444) >> 2) });
    this.#made = true;
  }

  async #write(path: string, bytes: Uint8Array): Promise<void> {
    if (!this.#sync) {
      await writeFile(path, bytes, { mode: this.#fileMode });
      return;
    }
    const file = await open(path, 'w', this.#fileMode);
    try {
      await file.writeFile(bytes);
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  /** A failing disk as the database's own errors say it: full, or failed. */
  #typed(error: unknown): unknown {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreFullError(this.#database, error);
    return new StoreIOError(this.#database, error);
  }
}

/** Syncs a directory, so the names of the files written in it survive a power loss too. */
async function syncPath(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
