/**
 * What migration 6's partial index over the unfinished rows costs the SQLite store: 100k
 * inserts of mixed priorities in batches of 1000, then their ends (queued -> completed) in
 * batches of 1000, on a fresh file with the index and on one where it was dropped, in turns.
 * Medians of ROUNDS rounds, main-thread wall time.
 *
 *   node dist/bench/diagnostics/unfinished-index.js [ROUNDS=5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import type { NewTaskRecord, TaskPatch, WriteBatch } from '../../src/store/task-store.js';
import type { Priority } from '../../src/types.js';
import { summarize } from '../lib/stats.js';

const ROWS = 100_000;
const BATCH = 1000;
const PRIORITIES: Priority[] = ['low', 'normal', 'high'];
const rounds = Number(process.argv[2] ?? 5);

function batch(inserts: NewTaskRecord[], patches = new Map<string, TaskPatch>()): WriteBatch {
  return { inserts, payloads: inserts.map(() => undefined), changes: inserts.map(() => undefined), patches, events: [] };
}

async function round(withIndex: boolean): Promise<[number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-index-'));
  const file = join(dir, 'tasks.db');
  try {
    await SqliteTaskStore.open(file).close();
    if (!withIndex) {
      const db = new Database(file);
      db.exec('DROP INDEX tasks_unfinished');
      db.close();
    }
    const store = SqliteTaskStore.open(file);
    let start = performance.now();
    for (let from = 1; from <= ROWS; from += BATCH) {
      const inserts: NewTaskRecord[] = [];
      for (let seq = from; seq < from + BATCH; seq++) {
        inserts.push({
          seq, id: `t${seq}`, type: 'noop', name: null, description: null, priority: PRIORITIES[seq % 3]!, createdAt: seq,
          runAt: null, timeoutMs: null, retries: 0, backoff: null, key: null, dependsOn: [], onParentFailure: null, group: null,
        });
      }
      await store.commit(batch(inserts));
    }
    const insertMs = performance.now() - start;
    start = performance.now();
    for (let from = 1; from <= ROWS; from += BATCH) {
      const patches = new Map<string, TaskPatch>();
      for (let seq = from; seq < from + BATCH; seq++) {
        patches.set(`t${seq}`, { status: 'completed', attempts: 1, startedAt: 1, completedAt: 2, progress: 100, result: null, error: null, updatedAt: 2 });
      }
      await store.commit(batch([], patches));
    }
    const endMs = performance.now() - start;
    await store.close();
    return [insertMs, endMs];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const times = { without: [] as [number, number][], with: [] as [number, number][] };
for (let i = 0; i < rounds; i++) {
  times.without.push(await round(false));
  times.with.push(await round(true));
}
console.log(`${ROWS} rows in batches of ${BATCH}, ${rounds} rounds in turns; medians (min-max), ms`);
for (const [name, runs] of Object.entries(times)) {
  const inserts = summarize(runs.map(([ms]) => ms));
  const ends = summarize(runs.map(([, ms]) => ms));
  console.log(
    `${`${name} the index`.padEnd(18)} inserts ${inserts.median.toFixed(0)} (${inserts.min.toFixed(0)}-${inserts.max.toFixed(0)}), ` +
      `ends ${ends.median.toFixed(0)} (${ends.min.toFixed(0)}-${ends.max.toFixed(0)})`,
  );
}
