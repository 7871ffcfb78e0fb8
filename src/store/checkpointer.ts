/**
 * WAL checkpoints off the main thread. SQLite checkpoints a WAL database from inside a
 * commit once the WAL passes 1000 pages: it copies them into the database file and fsyncs,
 * which held the host's event loop 14-18 ms about every 4 MB written (a CPU profile of the
 * event-loop benchmark's stalls, file store: 30 of its 40 stalls over 10 ms were COMMIT).
 * So the main connection never checkpoints (wal_autocheckpoint = 0); every ~2000 rows written
 * (see SqliteTaskStore) it nudges a thread with a connection of its own, which checkpoints
 * without blocking writers.
 *
 * If that thread cannot start or fails, the main connection checkpoints again as SQLite
 * does by default: slower turns, never an unbounded WAL.
 */
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const WORKER = new URL('./checkpoint-worker.js', import.meta.url);
/** SQLite's default, restored on the main connection if the thread is lost. */
const DEFAULT_AUTOCHECKPOINT = 1000;

/**
 * A checkpointer for a file store, or undefined where its thread cannot run: loaded from the
 * TypeScript sources (unit tests), the worker file is not built, and SQLite checkpoints as usual.
 */
export function startCheckpointer(db: Database.Database, path: string): Checkpointer | undefined {
  if (!existsSync(fileURLToPath(WORKER))) return undefined;
  try {
    return new Checkpointer(db, path);
  } catch {
    return undefined; // no thread (a resource limit): the main connection keeps checkpointing
  }
}

export class Checkpointer {
  readonly #db: Database.Database;
  readonly #worker: Worker;
  /** A checkpoint is under way; `#again`: another commit came meanwhile. */
  #busy = false;
  #again = false;
  #closed = false;
  #idleWaiters: Array<() => void> = [];

  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#worker = new Worker(WORKER, { workerData: { path } });
    db.pragma('wal_autocheckpoint = 0');
    // A thread that only waits for work must not keep the host process alive.
    this.#worker.unref();
    this.#worker.on('message', (reply: { ok: boolean }) => {
      this.#busy = false;
      if (!reply.ok) this.#fallBack();
      else if (this.#again) this.nudge();
      if (!this.#busy) this.#settleIdle();
    });
    this.#worker.on('error', () => this.#fallBack());
    this.#worker.on('exit', () => {
      if (!this.#closed) this.#fallBack();
    });
  }

  /** Checkpoint what the WAL holds now, or once the checkpoint under way has ended. */
  nudge(): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#again = false;
    this.#worker.postMessage('checkpoint');
  }

  /** Resolves once no checkpoint is under way (tests wait on it instead of on time). */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops the thread (its connection closed) before the main connection closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    // Held by the process until it has gone: an unref'd thread's exit would not keep the
    // host alive, and close() would never settle.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await exited;
    this.#settleIdle();
  }

  #fallBack(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#busy = false;
    if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
    void this.#worker.terminate();
    this.#settleIdle();
  }

  #settleIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
