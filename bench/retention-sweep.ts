/**
 * node dist/bench/retention-sweep.js [rows=100000]
 * How long one retention batch (store.sweep of 500 rows) holds the main thread, on a file
 * database holding `rows` finished tasks. Two layouts:
 *  - all due rows are `completed` (the usual case: every status has a retention);
 *  - as many `cancelled` rows with no retention finished before them, which the
 *    completed_at index walk has to step over on every call.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteTaskStore } from '../src/store/sqlite-store.js';
import type { FinishedStatus, NewTaskRecord, TaskPatch } from '../src/store/task-store.js';

const rows = Number(process.argv[2] ?? 100_000);
const BATCH = 500;

async function fill(store: SqliteTaskStore, status: FinishedStatus, from: number, count: number, t0: number) {
  for (let start = 0; start < count; start += 5000) {
    const inserts: NewTaskRecord[] = [];
    const payloads: unknown[] = [];
    const patches = new Map<string, TaskPatch>();
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      const seq = from + i;
      const at = t0 + i;
      inserts.push({
        seq, id: `t${seq}`, type: 'work', name: null, description: null, priority: 'normal',
        createdAt: at - 5, runAt: null, timeoutMs: null, retries: 0, backoff: null,
        key: null, dependsOn: [], onParentFailure: null, group: null,
      });
      payloads.push({ n: seq });
      patches.set(`t${seq}`, { status, completedAt: at, result: { ok: true }, updatedAt: at });
    }
    await store.commit({ inserts, payloads, changes: inserts.map(() => undefined), patches, events: [] });
  }
}

const ms = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(2)} ms, max ${s[s.length - 1]!.toFixed(2)} ms (${s.length} batches)`;
};

async function scenario(label: string, blockers: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offthread-retention-'));
  const store = SqliteTaskStore.open(path.join(dir, 'tasks.db'));
  try {
    if (blockers > 0) await fill(store, 'cancelled', 1, blockers, 0);
    await fill(store, 'completed', blockers + 1, rows, 1_000_000);
    let t = performance.now();
    const oldest = await store.oldestFinished('completed');
    const oldestMs = performance.now() - t;
    const times: number[] = [];
    // Sweep the oldest 20 batches (10k rows), each timed on its own.
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      const n = await store.sweep('completed', 1_000_000 + rows, BATCH);
      times.push(performance.now() - t);
      if (n !== BATCH) throw new Error(`swept ${n}`);
    }
    console.log(`${label}: sweep(${BATCH}) ${ms(times)}; oldestFinished ${oldestMs.toFixed(2)} ms (= ${oldest})`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await scenario(`${rows} completed rows`, 0);
await scenario(`${rows} completed rows behind ${rows} unretained cancelled rows`, rows);
