/**
 * node dist/bench/store-durability.js [--seconds S] [--rounds R]   (after npm run build)
 * Commits per second of 1-row and 1000-row transactions on a file in the OS temp folder,
 * with durability 'normal' (WAL, synchronous NORMAL: no fsync per commit) and 'full' (WAL,
 * synchronous FULL: the WAL is fsynced at every commit). The rows are the size of a small
 * task row, written through the store's own open path (same pragmas, same lock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase, type Durability } from '../src/store/open-database.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const body = Buffer.alloc(200, 7);

/** Transactions of `rows` rows, as many as fit in `seconds`; returns commits/s. */
function measure(durability: Durability, rows: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-bench-'));
  const { db, lock } = openDatabase(join(dir, 'tasks.db'), { durability });
  try {
    db.exec('CREATE TABLE bench (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO bench (body) VALUES (?)');
    const commit = db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(body);
    });
    let commits = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(seconds * 1e9));
    let now = start;
    while (now < end) {
      commit();
      commits++;
      now = process.hrtime.bigint();
    }
    return commits / (Number(now - start) / 1e9);
  } finally {
    db.close();
    lock?.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`store durability: ${rounds} rounds of ${seconds}s each, file in ${tmpdir()}, median (min-max)`);
console.log('durability   rows/txn    commits/s                rows/s');
for (const durability of ['normal', 'full'] as const) {
  for (const rows of [1, 1000]) {
    const rates = Array.from({ length: rounds }, () => measure(durability, rows));
    const m = median(rates);
    const span = `${Math.round(Math.min(...rates))}-${Math.round(Math.max(...rates))}`;
    console.log(`${durability.padEnd(12)} ${String(rows).padStart(8)}    ${`${Math.round(m)} (${span})`.padEnd(24)} ${Math.round(m * rows)}`);
  }
}
