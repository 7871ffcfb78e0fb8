/**
 * A workload that benefits from batch handlers: each task inserts one row into a SQLite
 * table (a file in WAL mode with synchronous FULL, better-sqlite3 in the worker thread).
 * 3,000 tasks through a plain handler (a transaction per row) against a batch handler
 * (defineBatchTask, up to 500 rows a transaction), 1 thread (one writer), offthread
 * ':memory:', every result awaited; tasks/s, median (min-max) of the rounds.
 *
 *   node dist/bench/diagnostics/batch-inserts.js [tasks=3000] [rounds=3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { defineBatchTask, defineTask } from '../../src/worker.js';
import { TaskRuntime } from '../../src/index.js';
import { summarize } from '../lib/stats.js';

interface Row {
  id: number;
  name: string;
}

/** The thread's connection to the table, opened on first use (the path comes in the payload). */
let db: Database.Database | undefined;
function table(path: string): Database.Statement<[number, string]> {
  if (db === undefined) {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // Each transaction synced to disk, as data that must not be lost is: what batching saves.
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, name TEXT)');
  }
  return db.prepare('INSERT INTO rows (id, name) VALUES (?, ?)');
}

export const insertOne = defineTask(({ path, row }: { path: string; row: Row }) => {
  table(path).run(row.id, row.name);
  return true;
});

export const insertMany = defineBatchTask(
  (items: Array<{ path: string; row: Row }>) => {
    const insert = table(items[0]!.path);
    db!.transaction(() => {
      for (const { row } of items) insert.run(row.id, row.name);
    })();
    return items.map(() => true);
  },
  { maxBatch: 500 },
);

void workerData;
const tasks = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);

if (isMainThread) {
  const rates = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const type of round % 2 === 0 ? ['insertOne', 'insertMany'] : ['insertMany', 'insertOne']) {
      const dir = mkdtempSync(join(tmpdir(), 'offthread-batch-inserts-'));
      const path = join(dir, 'rows.db');
      const rt = await TaskRuntime.open({ handlers: new URL(import.meta.url), concurrency: 1 });
      const start = performance.now();
      const flows = new Array<Promise<unknown>>(tasks);
      for (let i = 0; i < tasks; i++) flows[i] = rt.submit(type, { path, row: { id: i + 1, name: `row ${i}` } }).then((handle) => handle.result());
      await Promise.all(flows);
      rates.set(type, [...(rates.get(type) ?? []), tasks / ((performance.now() - start) / 1000)]);
      await rt.close();
      const check = new Database(path, { readonly: true });
      const count = check.prepare('SELECT count(*) FROM rows').pluck().get();
      check.close();
      if (count !== tasks) throw new Error(`${String(count)} rows of ${tasks}`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`${tasks} tasks, each inserting a row into a SQLite file (WAL, synchronous FULL), 1 thread, every result awaited, ${rounds} rounds`);
  for (const [type, samples] of rates) {
    const s = summarize(samples);
    console.log(`${type === 'insertOne' ? 'defineTask (a row a transaction)   ' : 'defineBatchTask (up to 500 a call)'} ${s.median.toFixed(0)} tasks/s (${s.min.toFixed(0)}-${s.max.toFixed(0)})`);
  }
}
