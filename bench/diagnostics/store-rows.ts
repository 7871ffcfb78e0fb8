/**
 * The store's row mapping on its own, without threads: how long SqliteTaskStore takes to
 * commit 100k inserts in batches of 1000 (':memory:', ':memory:' with every row changed
 * before it was written, and a file), and recover() to read back `rows` queued tasks from a
 * file, a page at a time as a reopen does. Medians of `rounds` runs, each on a fresh store; main-thread wall
 * time. Compare two builds by running it in each, in turns: the machine may be shared.
 *
 *   node dist/bench/diagnostics/store-rows.js [rows=200000] [rounds=5]
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { serialize } from 'node:v8';
import { EncodedValue } from '../../src/store/encoded.js';
import { SqliteTaskStore } from '../../src/store/sqlite-store.js';
import type { NewTaskRecord, TaskPatch, WriteBatch } from '../../src/store/task-store.js';
import { PRIORITIES } from '../../src/types.js';
import { summarize } from '../lib/stats.js';

const rows = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const INSERTS = 100_000;
const BATCH = 1000;
const dir = mkdtempSync(join(tmpdir(), 'offthread-store-rows-'));

/** Batches of new rows as the write batcher hands them over: an encoded payload each, as submit makes. */
function batches(count: number, changed: boolean): WriteBatch[] {
  const out: WriteBatch[] = [];
  for (let start = 1; start <= count; start += BATCH) {
    const batch: WriteBatch = { inserts: [], payloads: [], changes: [], patches: new Map(), events: [] };
    for (let seq = start; seq < start + BATCH && seq <= count; seq++) {
      const createdAt = 1_700_000_000_000 + seq;
      const record: NewTaskRecord = {
        seq, id: `task-${seq}`, type: 'noop', name: null, description: null, priority: 'normal', createdAt,
        runAt: null, timeoutMs: null, retries: 0, backoff: null, key: null, dependsOn: [], onParentFailure: null, group: null,
      };
      const early: TaskPatch | undefined = changed
        ? { status: 'completed', progress: 100, attempts: 1, startedAt: createdAt + 1, completedAt: createdAt + 2, result: new EncodedValue(serialize(seq)), updatedAt: createdAt + 2 }
        : undefined;
      batch.inserts.push(record);
      batch.payloads.push(new EncodedValue(serialize({ n: seq })));
      batch.changes.push(early);
    }
    out.push(batch);
  }
  return out;
}

async function timeInserts(where: string, changed: boolean): Promise<number> {
  const work = batches(INSERTS, changed);
  const store = SqliteTaskStore.open(where);
  try {
    const start = performance.now();
    for (const batch of work) await store.commit(batch);
    return performance.now() - start;
  } finally {
    await store.close();
  }
}

async function timeRecover(source: string, n: number): Promise<number> {
  const copy = join(dir, `recover-${n}.db`);
  copyFileSync(source, copy);
  const store = SqliteTaskStore.open(copy);
  try {
    const start = performance.now();
    const { unfinished } = await store.recover(Date.now());
    // Read as the owner reads them: pages of 64 of each priority, by seq.
    let read = 0;
    for (let rank = PRIORITIES.length - 1; rank >= 0; rank--) {
      for (let from = 0; ; ) {
        const page = unfinished!.page(rank, from, 65);
        read += Math.min(page.length, 64);
        if (page.length <= 64) break;
        from = page[64]!.seq;
      }
    }
    const ms = performance.now() - start;
    if (read !== rows) throw new Error(`recovered ${read} tasks, expected ${rows}`);
    return ms;
  } finally {
    await store.close();
  }
}

try {
  const source = join(dir, 'queued.db');
  const seed = SqliteTaskStore.open(source);
  for (const batch of batches(rows, false)) await seed.commit(batch);
  await seed.close();

  const times: Record<string, number[]> = { 'insert :memory:': [], 'insert :memory:, changed': [], 'insert file': [], [`recover ${rows}`]: [] };
  for (let i = 0; i < rounds; i++) {
    times['insert :memory:']!.push(await timeInserts(':memory:', false));
    times['insert :memory:, changed']!.push(await timeInserts(':memory:', true));
    times['insert file']!.push(await timeInserts(join(dir, `inserts-${i}.db`), false));
    times[`recover ${rows}`]!.push(await timeRecover(source, i));
  }
  console.log(`${INSERTS} inserts in batches of ${BATCH}; recover() of ${rows} queued rows; ${rounds} rounds, ms`);
  for (const [name, ms] of Object.entries(times)) {
    const s = summarize(ms);
    console.log(`${name.padEnd(26)} median ${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
