/**
 * The PostgreSQL schema, as numbered migrations applied under an advisory lock: hosts that
 * open at once take turns, and the first one migrates while the others wait and then find
 * nothing left to do. Append only: never edit a migration that has shipped.
 *
 * Every queue lives in the same tables, told apart by the `queue` column, so several apps or
 * queues can share one database. Columns match the SQLite store's (src/store/migrations.ts),
 * plus the lease: which host holds a task (`lease_owner`) and until when (`lease_until`).
 */
import type { PoolClient } from 'pg';
import { StoreVersionError } from '../../errors.js';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: tasks and schedules. seq is the submit order across every host (an identity column,
  // so FIFO among equal priorities holds for the whole queue). Times are epoch ms (bigint).
  // Ids compare byte by byte (COLLATE "C"), whatever the database's collation, so the ids
  // that start with a prefix are one range of the primary key.
  `
  CREATE TABLE offthread.tasks (
    queue             text             NOT NULL,
    seq               bigint           GENERATED ALWAYS AS IDENTITY,
    id                text             COLLATE "C" NOT NULL,
    type              text             NOT NULL,
    name              text,
    description       text,
    priority          smallint         NOT NULL,
    status            text             NOT NULL,
    progress          double precision NOT NULL DEFAULT 0,
    progress_message  text,
    payload           bytea,
    result            bytea,
    error             text,
    attempts          integer          NOT NULL DEFAULT 0,
    created_at        bigint           NOT NULL,
    started_at        bigint,
    completed_at      bigint,
    updated_at        bigint           NOT NULL,
    run_at            bigint,
    timeout_ms        double precision,
    retries           integer          NOT NULL DEFAULT 0,
    backoff           text,
    key               text,
    depends_on        text,
    on_parent_failure text,
    checkpoint        bytea,
    lease_owner       text,
    lease_until       bigint,
    PRIMARY KEY (queue, id)
  );
  -- What claim() walks: ready rows of a queue, most urgent first, then submit order.
  CREATE INDEX tasks_ready ON offthread.tasks (queue, priority DESC, seq) WHERE status = 'queued' AND lease_owner IS NULL;
  -- list()'s newest-first order, and its status filter.
  CREATE INDEX tasks_created ON offthread.tasks (queue, created_at DESC, seq DESC);
  CREATE INDEX tasks_status ON offthread.tasks (queue, status, created_at DESC);
  -- Retention and cleanup, oldest first per status.
  CREATE INDEX tasks_finished ON offthread.tasks (queue, status, completed_at) WHERE completed_at IS NOT NULL;
  -- Leases to take back when they lapse.
  CREATE INDEX tasks_leases ON offthread.tasks (queue, lease_until) WHERE lease_owner IS NOT NULL;
  CREATE TABLE offthread.schedules (
    queue        text    NOT NULL,
    name         text    NOT NULL,
    cron         text    NOT NULL,
    type         text    NOT NULL,
    payload      bytea,
    options      text,
    overlap      boolean NOT NULL DEFAULT false,
    next_run_at  bigint,
    last_run_at  bigint,
    last_task_id text,
    created_at   bigint  NOT NULL,
    updated_at   bigint  NOT NULL,
    PRIMARY KEY (queue, name)
  );
  `,
  // 2: a dedupe key is held by at most one unfinished task of a queue, whichever host
  // submitted it: insertKeyed's INSERT ... ON CONFLICT finds the holder through it.
  `
  CREATE UNIQUE INDEX tasks_key ON offthread.tasks (queue, key) WHERE key IS NOT NULL AND status IN ('queued', 'running', 'paused');
  `,
  // 3: whether a host has ever claimed the task. From its first claim on, only the host that
  // holds its lease writes its patches: a host whose lease lapsed writes nothing over what
  // came after, even once the task has ended and its lease is let go.
  `
  ALTER TABLE offthread.tasks ADD COLUMN ever_leased boolean NOT NULL DEFAULT false;
  `,
  // 4: queued children waiting for parents, so a commit that ends a task asks cheaply
  // whether any host may now claim a child (and wakes the hosts only then).
  `
  CREATE INDEX tasks_children ON offthread.tasks (queue) WHERE status = 'queued' AND depends_on IS NOT NULL;
  `,
  // 5: a task's group (a tenant, a user), for round-robin dispatch and per-group limits.
  `
  ALTER TABLE offthread.tasks ADD COLUMN group_name text;
  `,
  // 6: groups across hosts (./pg-turns.ts, ./pg-group-claims.ts). A task's turn, taken at
  // insert from its group's counter (group_turns; '' is the tasks without a group), never
  // below the queue's turn (queue_turns: the largest turn claimed so far), so claims take a
  // priority's ready rows round-robin across groups: tasks_ready walks (priority, turn, seq).
  // Rows already stored take their seq as their turn, so they keep submit order; a group's
  // counter starts after its rows. group_limits holds the queue-wide caps and rates ('' is
  // the default); tasks_group_leases and tasks_group_starts let a claim count what a limited
  // group holds and has started without reading its queued rows.
  `
  ALTER TABLE offthread.tasks ADD COLUMN turn bigint NOT NULL DEFAULT 0;
  UPDATE offthread.tasks SET turn = seq WHERE status IN ('queued', 'running', 'paused');
  ALTER TABLE offthread.tasks ALTER COLUMN turn DROP DEFAULT;
  DROP INDEX offthread.tasks_ready;
  CREATE INDEX tasks_ready ON offthread.tasks (queue, priority DESC, turn, seq) WHERE status = 'queued' AND lease_owner IS NULL;
  CREATE TABLE offthread.queue_turns (
    queue text   PRIMARY KEY,
    turn  bigint NOT NULL
  );
  CREATE TABLE offthread.group_turns (
    queue      text   NOT NULL,
    group_name text   NOT NULL,
    next_turn  bigint NOT NULL,
    PRIMARY KEY (queue, group_name)
  );
  INSERT INTO offthread.group_turns (queue, group_name, next_turn)
    SELECT queue, coalesce(group_name, ''), max(seq) + 1 FROM offthread.tasks GROUP BY 1, 2;
  INSERT INTO offthread.queue_turns (queue, turn)
    SELECT queue, coalesce(min(seq) FILTER (WHERE status = 'queued'), max(seq)) FROM offthread.tasks GROUP BY queue;
  CREATE TABLE offthread.group_limits (
    queue       text             NOT NULL,
    group_name  text             NOT NULL,
    concurrency integer,
    rate_count  integer,
    rate_per_ms double precision,
    updated_at  bigint           NOT NULL,
    PRIMARY KEY (queue, group_name)
  );
  CREATE INDEX tasks_group_leases ON offthread.tasks (queue, group_name) WHERE lease_owner IS NOT NULL AND group_name IS NOT NULL;
  CREATE INDEX tasks_group_starts ON offthread.tasks (queue, started_at, group_name) WHERE started_at IS NOT NULL AND group_name IS NOT NULL;
  `,
  // 7: type rates across hosts. `rated` is set by the claim that leases a row of a type with
  // a rate (the claiming host knows its types' rates), so only rated rows enter the two
  // partial indexes a claim counts a type's held tasks and recent starts with; a task of a
  // type without a rate costs no index entry more than before. A constant default: no rewrite.
  `
  ALTER TABLE offthread.tasks ADD COLUMN rated boolean NOT NULL DEFAULT false;
  CREATE INDEX tasks_rated_leases ON offthread.tasks (queue, type) WHERE rated AND lease_owner IS NOT NULL;
  CREATE INDEX tasks_rated_starts ON offthread.tasks (queue, type, started_at) WHERE rated AND started_at IS NOT NULL;
  `,
];

/**
 * For a reader that must not write: the schema's version is what this code knows, or
 * StoreVersionError (ERR_STORE_VERSION) says why not (newer code needed, or a runtime has not
 * yet opened the database to create or migrate it).
 */
export async function checkPostgresVersion(client: PoolClient, where: string): Promise<void> {
  const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('offthread.migrations') IS NOT NULL AS exists");
  let current = 0;
  if (rows[0]?.exists === true) {
    const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM offthread.migrations');
    current = result.rows[0]?.version ?? 0;
  }
  if (current !== PG_MIGRATIONS.length) throw new StoreVersionError(where, current, PG_MIGRATIONS.length);
}

/** Any number: it names the one lock every offthread host takes to migrate. */
const MIGRATION_LOCK = 0x6f66_7468; // "ofth"

/**
 * Brings the schema up to date, in one transaction under the advisory lock. Throws
 * StoreVersionError (ERR_STORE_VERSION) for a schema newer than this code, changing nothing.
 */
export async function migratePostgres(client: PoolClient, where: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE SCHEMA IF NOT EXISTS offthread');
    await client.query('CREATE TABLE IF NOT EXISTS offthread.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM offthread.migrations');
    const current = rows[0]?.version ?? 0;
    if (current > PG_MIGRATIONS.length) throw new StoreVersionError(where, current, PG_MIGRATIONS.length);
    for (let version = current + 1; version <= PG_MIGRATIONS.length; version++) {
      await client.query(PG_MIGRATIONS[version - 1]!);
      await client.query('INSERT INTO offthread.migrations (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
