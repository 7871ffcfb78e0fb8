import type { Database } from 'better-sqlite3';
import { StoreVersionError } from '../errors.js';
import { committed } from './crash-switch.js';

/*
 * Migration N (1-based) is MIGRATIONS[N - 1]; PRAGMA user_version holds the last one applied.
 * Append only: never edit a migration that has shipped, add the next one instead.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the tasks table. seq is the rowid (submit order, assigned by the scheduler, so it can
  // be known before the insert commits). priority is the rank in PRIORITIES (0 low .. 2 high)
  // so ORDER BY priority sorts by urgency. run_at, depends_on and key are reserved for delayed
  // tasks, dependencies and dedup keys. No CHECK on status: SQLite cannot alter a CHECK
  // without rebuilding the table, and those features may add statuses.
  `
  CREATE TABLE tasks (
    seq              INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    type             TEXT    NOT NULL,
    name             TEXT,
    description      TEXT,
    priority         INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    progress         REAL    NOT NULL DEFAULT 0,
    progress_message TEXT,
    payload          BLOB,
    result           BLOB,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    completed_at     INTEGER,
    updated_at       INTEGER NOT NULL,
    run_at           INTEGER,
    depends_on       TEXT,
    key              TEXT
  );
  -- Only columns that change once or twice per task are indexed, so the hot progress
  -- updates touch no index. (status, created_at) serves the status filter, list's newest-
  -- first order within a status, stats' GROUP BY and recovery. An index also holds the rowid
  -- (seq), so created_at alone serves ORDER BY created_at DESC, seq DESC without a sort.
  -- completed_at is partial: unfinished rows (most inserts) skip it, and cleanup's
  -- completed_at <= ? implies NOT NULL, so the planner still uses it.
  CREATE INDEX tasks_status_created_at ON tasks (status, created_at);
  CREATE INDEX tasks_priority_seq ON tasks (priority, seq);
  CREATE INDEX tasks_created_at ON tasks (created_at);
  CREATE INDEX tasks_completed_at ON tasks (completed_at) WHERE completed_at IS NOT NULL;
  `,
  // 2: retries and timeouts. A task's own limits travel with its row, so a task re-queued
  // after a restart keeps them; run_at (from 1) now holds when a retry is due.
  `
  ALTER TABLE tasks ADD COLUMN timeout_ms INTEGER;
  ALTER TABLE tasks ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tasks ADD COLUMN backoff TEXT;
  `,
  // 3: dependencies, dedupe keys, durable checkpoints, cron schedules. depends_on (from 1)
  // holds the parent ids as a JSON array; key (from 1) is unique among unfinished tasks,
  // which the partial index serves (finished tasks free their key).
  `
  ALTER TABLE tasks ADD COLUMN on_parent_failure TEXT;
  ALTER TABLE tasks ADD COLUMN checkpoint BLOB;
  CREATE INDEX tasks_key ON tasks (key) WHERE key IS NOT NULL;
  CREATE TABLE schedules (
    name         TEXT    PRIMARY KEY,
    cron         TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    payload      BLOB,
    options      TEXT,
    overlap      INTEGER NOT NULL DEFAULT 0,
    next_run_at  INTEGER,
    last_run_at  INTEGER,
    last_task_id TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  `,
  // 4: retention sweeps one status at a time, oldest first; with completed_at alone, a status
  // kept forever (older rows) is stepped over on every sweep of another. The new index also
  // serves cleanup, so completed_at alone goes; (priority, seq) goes too: every insert paid
  // for it, and only a list filtered by priority alone (rare, and bounded by LIMIT) used it.
  `
  CREATE INDEX tasks_status_completed_at ON tasks (status, completed_at) WHERE completed_at IS NOT NULL;
  DROP INDEX tasks_completed_at;
  DROP INDEX tasks_priority_seq;
  `,
  // 5: a task's group (a tenant, a user), for round-robin dispatch and per-group limits.
  `
  ALTER TABLE tasks ADD COLUMN group_name TEXT;
  `,
  // 6: the unfinished rows in the order the scheduler dispatches them (priority, then submit
  // order), so a reopen reads the most urgent first and starts them before the rest is read
  // (docs/design.md). Partial: a row enters it at its insert and leaves it when it starts, and
  // a finished row is in it no more, so the table's history costs it nothing.
  `
  CREATE INDEX tasks_unfinished ON tasks (priority, seq) WHERE status IN ('queued', 'paused');
  `,
  // 7: a large payload or result is kept beside the database, and its row names it (the
  // payload or result column NULL): see src/store/payload-shelf.ts for why.
  `
  ALTER TABLE tasks ADD COLUMN payload_file TEXT;
  ALTER TABLE tasks ADD COLUMN result_file TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Throws StoreVersionError, before anything is written, when the file is newer than this code
 * (or, read-only, older: it cannot be migrated then).
 */
export function checkVersion(db: Database, readonly: boolean): void {
  const found = schemaVersion(db);
  if (found > SCHEMA_VERSION || (readonly && found < SCHEMA_VERSION)) {
    throw new StoreVersionError(db.name, found, SCHEMA_VERSION);
  }
}

/** Applies the missing migrations, each in its own IMMEDIATE transaction. */
export function migrate(db: Database): void {
  for (;;) {
    // IMMEDIATE takes the write lock before reading the version, so two processes opening a
    // fresh file at once cannot both apply the same migration.
    const applied = db
      .transaction((): boolean => {
        const version = schemaVersion(db);
        if (version > SCHEMA_VERSION) throw new StoreVersionError(db.name, version, SCHEMA_VERSION);
        const sql = MIGRATIONS[version];
        if (sql === undefined) return false;
        db.exec(sql);
        db.pragma(`user_version = ${version + 1}`);
        return true;
      })
      .immediate();
    if (!applied) return;
    committed('migration');
  }
}
