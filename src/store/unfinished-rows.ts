/**
 * The SQLite store's unfinished rows as it hands them over at open (UnfinishedRows in
 * ./task-claims.ts): pages of one priority in submit order through the partial index of
 * migration 6, and single rows by id or dedupe key. Each read is a short statement run to
 * its end, never an iterator left open across turns: the connection stays free for the
 * writes of the tasks already running.
 */
import { COL, type Statements, type TaskRow } from './sql.js';
import type { StoredTask, UnfinishedRows } from './task-claims.js';

export class SqliteUnfinishedRows implements UnfinishedRows {
  readonly #stmts: Statements;
  /** Rows stored since the open are the owner's from their submit on: never read here. */
  readonly #before: number;
  readonly #toTask: (row: TaskRow) => StoredTask;

  constructor(stmts: Statements, before: number, toTask: (row: TaskRow) => StoredTask) {
    this.#stmts = stmts;
    this.#before = before;
    this.#toTask = toTask;
  }

  page(rank: number, fromSeq: number, limit: number): StoredTask[] {
    return this.#stmts.unfinishedPage.all(rank, fromSeq, this.#before, limit).map(this.#toTask);
  }

  byId(id: string): StoredTask | undefined {
    const row = this.#stmts.unfinishedById.get(id, this.#before);
    return row && this.#toTask(row);
  }

  byKey(key: string): StoredTask[] {
    return this.#stmts.unfinishedByKey.all(key, this.#before).map(this.#toTask);
  }
}

/** What a StoredTask shows beyond a Task, read from its row. */
export function storedFields(task: StoredTask, row: TaskRow): StoredTask {
  task.seq = row[COL.seq];
  task.checkpoint = row[COL.checkpoint];
  return task;
}
