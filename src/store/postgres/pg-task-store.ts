/**
 * The PostgreSQL TaskStore: one queue of a database that several hosts share. What each
 * part does lives beside it: claims and leases (./pg-claims.ts), new rows (./pg-inserts.ts),
 * fenced patches (./pg-patches.ts), events to the other hosts (./pg-events.ts), commands
 * (./pg-control.ts), the LISTEN connection (./pg-feed.ts), a lost server (./pg-errors.ts).
 * See src/store/task-claims.ts and docs/design.md, "The store seam".
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { OffthreadError, StoreUnavailableError } from '../../errors.js';
import { FINISHED_STATUSES, type CleanupOptions, type ListFilter, type Task, type TaskStats } from '../../types.js';
import type { ScheduleStore } from '../schedule-store.js';
import type { ClaimRequest, ControlAnswer, GroupLimitsChange, ControlRequest, QueueFeed, RecoveredState, StoredTask, TaskClaims } from '../task-claims.js';
import type { FinishedStatus, NewTaskRecord, SearchSlice, StoreListFilter, TaskStore, TextSearch, WriteBatch } from '../task-store.js';
import { checkPostgresVersion, migratePostgres } from './pg-migrations.js';
import { idPrefixRange } from '../id-prefix.js';
import { rank, statsOf } from '../columns.js';
import { EVENTS_CHANNEL, READY_CHANNEL } from './pg-channels.js';
import { claimTasks, nextDueAt, releaseTasks, renewLeases, takeBackLapsed } from './pg-claims.js';
import { controlTask } from './pg-control.js';
import { PgOutputLink } from './pg-outputs.js';
import { PG_TYPES, PgDb } from './pg-db.js';
import { redact } from './pg-errors.js';
import { eventPayloads, publishEvents } from './pg-events.js';
import { PgFeed } from './pg-feed.js';
import { insertKeyed, insertRows } from './pg-inserts.js';
import { commitPatches, freesChildren, requeues, writePatches } from './pg-patches.js';
import { insertValues, LIST_COLUMNS, rowToTask, SELECT_COLUMNS, type PgTaskRow } from './pg-rows.js';
import { withCheckpoint } from '../codec.js';
import { PgScheduleStore } from './pg-schedule-store.js';
import { claimLimited } from './pg-group-claims.js';
import { writeGroupLimits } from './pg-group-limits.js';
import { ENSURE_CLOCK, takeTurns } from './pg-turns.js';

export { redact } from './pg-errors.js';

export interface PgStoreOptions {
  /** A `postgres://` or `postgresql://` URL. */
  connectionString: string;
  /** The queue's name: several apps or queues share one database. @default 'default' */
  queue?: string;
  /** Connections in the pool (the LISTEN connection is apart). @default 4 */
  maxConnections?: number;
  /** For inspection: no migration, only a check that the schema is this code's. @default false */
  readonly?: boolean;
}

const DEFAULT_LIST_LIMIT = 100;
/** Claims again for other groups' rows after rows were left for lack of room, at most this many times in all. */
const LIMITED_ROUNDS = 4;

export class PgTaskStore implements TaskStore, TaskClaims {
  readonly sharing = 'shared';
  readonly schedules: ScheduleStore;
  /** This host, as the holder of the leases it takes and the sender of its events. */
  readonly hostId: string;
  readonly outputLink: PgOutputLink;
  readonly #db: PgDb;
  /**
   * Claims, renewals, releases and lapsed leases go through a connection of their own whose
   * commits do not wait for the disk (synchronous_commit off): a lease is not worth an fsync.
   * One lost in a crash of the server leaves its task unclaimed, for a host to claim again,
   * which at-least-once allows; what a task did (its start, its end) is written through the
   * durable connections, and results wait for those. It takes a millisecond or more off
   * every claim, so off the time from a submit to its start on another host.
   */
  readonly #leases: PgDb;
  readonly #queue: string;
  readonly #feed: PgFeed;
  #closed: Promise<void> | undefined;
  /** The queue has group limits, as far as this host knows: claims go through ./pg-group-claims.ts. */
  #limited = false;
  /** When the window of a group or type held back by its rate moves, as the last claim found. */
  #rateFreesAt: number | null = null;

  private constructor(db: PgDb, leases: PgDb, connectionString: string, queue: string, hostId: string) {
    this.#db = db;
    this.#leases = leases;
    this.#queue = queue;
    this.hostId = hostId;
    this.schedules = new PgScheduleStore(db, queue);
    this.#feed = new PgFeed({ connectionString, queue, hostId, db });
    this.outputLink = new PgOutputLink(db, queue, hostId);
  }

  /** Connects and migrates (under an advisory lock, so hosts opening at once migrate once). */
  static async open(options: PgStoreOptions): Promise<PgTaskStore> {
    const hostId = randomUUID();
    // Named by host, port and database in messages, never by its password.
    const where = redact(options.connectionString);
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      types: PG_TYPES,
      // Which host a connection is, in pg_stat_activity.
      application_name: `offthread ${hostId}`,
    });
    // An idle connection the server dropped is replaced on the next query; never a crash.
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      try {
        if (options.readonly === true) await checkPostgresVersion(client, where);
        else {
          await migratePostgres(client, where);
          await client.query(ENSURE_CLOCK, [options.queue ?? 'default']);
        }
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      if (error instanceof OffthreadError) throw error;
      throw new StoreUnavailableError(
        where,
        error,
        'Check that the PostgreSQL server runs and accepts connections from this host, and the URL (user, password, database).',
      );
    }
    const leases = new pg.Pool({
      connectionString: options.connectionString,
      max: 1,
      types: PG_TYPES,
      application_name: `offthread ${hostId} leases`,
      options: '-c synchronous_commit=off',
    });
    leases.on('error', () => {});
    return new PgTaskStore(new PgDb(pool, where), new PgDb(leases, where), options.connectionString, options.queue ?? 'default', hostId);
  }

  /**
   * Inserts, then patches (only those of rows this host holds, see ./pg-patches.ts), then
   * the batch's events for the other hosts, in one transaction: the events are delivered
   * when the rows are committed, never before, and those of a task whose patch was refused
   * are not sent (nothing is told that is not stored). The queue's hosts are woken when a
   * task was added, put back in the queue, or ended (its children may be ready).
   */
  async commit(batch: WriteBatch): Promise<void> {
    if (batch.inserts.length === 0 && batch.patches.size === 0 && batch.events.length === 0) return;
    // Encoded before the transaction: a payload that cannot be cloned fails the batch first.
    const rows: unknown[][] = batch.inserts.map((record, i) => insertValues(this.#queue, record, batch.payloads[i], batch.changes[i]));
    if (rows.length === 0 && batch.patches.size > 0) return this.#commitPatches(batch);
    // Taken on the leases' connection while this one begins its transaction: no round trip added.
    const turns = takeTurns(this.#leases, this.#queue, batch.inserts.map((record) => record.group));
    turns.catch(() => undefined); // awaited below, unless the transaction failed first
    await this.#db.transaction(async (client) => {
      await insertRows(client, rows, await turns);
      const refused = await writePatches(client, this.#queue, this.hostId, batch.patches);
      if (rows.length > 0 || requeues(batch.patches) || (await freesChildren(client, this.#queue, batch.patches))) {
        await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, this.#queue]);
      }
      const told = refused.size === 0 ? batch.events : batch.events.filter((event) => !refused.has(event.taskId));
      await publishEvents(client, eventPayloads(this.#queue, this.hostId, told));
    });
  }

  /** Patches and events without new rows, in one statement (see commitPatches). */
  async #commitPatches(batch: WriteBatch): Promise<void> {
    const payloads = eventPayloads(this.#queue, this.hostId, batch.events);
    const { refused, told } = await commitPatches(
      this.#db,
      this.#queue,
      this.hostId,
      batch.patches,
      { channel: READY_CHANNEL, always: requeues(batch.patches) },
      { channel: EVENTS_CHANNEL, payloads },
    );
    if (told) return;
    // Some patches were refused (this host no longer holds their tasks): the others' events
    // are told now, after the commit; those of refused patches never, since nothing of them was stored.
    const applied = batch.events.filter((event) => !refused.has(event.taskId));
    await this.#db.transaction((client) => publishEvents(client, eventPayloads(this.#queue, this.hostId, applied)));
  }

  async get(id: string): Promise<Task | undefined> {
    const { rows } = await this.#db.query<PgTaskRow>(`SELECT ${SELECT_COLUMNS} FROM offthread.tasks WHERE queue = $1 AND id = $2`, [this.#queue, id]);
    return rows[0] && withCheckpoint(rowToTask(rows[0]), rows[0].checkpoint);
  }

  /** At most `limit` tasks whose id starts with `prefix`, by id: a range of the primary key. */
  async findByPrefix(prefix: string, limit = 2): Promise<Task[]> {
    const [lower, upper] = idPrefixRange(prefix);
    const { rows } =
      upper === undefined
        ? await this.#db.query<PgTaskRow>(`SELECT ${SELECT_COLUMNS} FROM offthread.tasks WHERE queue = $1 AND id >= $2 ORDER BY id LIMIT $3`, [this.#queue, lower, limit])
        : await this.#db.query<PgTaskRow>(`SELECT ${SELECT_COLUMNS} FROM offthread.tasks WHERE queue = $1 AND id >= $2 AND id < $3 ORDER BY id LIMIT $4`, [
            this.#queue,
            lower,
            upper,
            limit,
          ]);
    return rows.map((row) => withCheckpoint(rowToTask(row), row.checkpoint));
  }

  /** Newest first (created_at, then submit order, descending). */
  async list(filter: StoreListFilter): Promise<Task[]> {
    const { where, values } = this.#listWhere(filter);
    values.push(filter.limit ?? DEFAULT_LIST_LIMIT, filter.offset ?? 0);
    const { rows } = await this.#db.query<PgTaskRow>(
      `SELECT ${LIST_COLUMNS} FROM offthread.tasks WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, seq DESC LIMIT $${values.length - 1} OFFSET $${values.length}`,
      values,
    );
    return rows.map(rowToTask);
  }

  /**
   * One statement: the slice (only id, name, created_at and seq of at most `scan` rows, in
   * the list index's order), numbered; its matches, and its last row, which says where it ended.
   */
  async search(filter: ListFilter, search: TextSearch): Promise<SearchSlice> {
    const { where, values } = this.#listWhere(filter);
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const scan = Math.max(1, Math.floor(search.scan));
    values.push(scan + 1, search.text, [...search.text].length, limit);
    const [scanAt, textAt, lengthAt, limitAt] = [values.length - 3, values.length - 2, values.length - 1, values.length];
    const name = `strpos(lower(name), $${textAt}) > 0`;
    const idMatches = `left(id, $${lengthAt}) = $${textAt}`;
    const match = search.ids === 'match' ? `(${name} OR ${idMatches})` : `${name} AND NOT ${idMatches}`;
    // One row more than the slice tells whether the list goes on after it.
    const { rows } = await this.#db.query<{ id: string; n: number; hit: boolean }>(
      `WITH slice AS (
         SELECT id, name, row_number() OVER (ORDER BY created_at DESC, seq DESC)::integer AS n
         FROM (SELECT id, name, created_at, seq FROM offthread.tasks WHERE ${where.join(' AND ')}
               ORDER BY created_at DESC, seq DESC LIMIT $${scanAt}) AS rows)
       (SELECT id, n, true AS hit FROM slice WHERE n < $${scanAt} AND ${match} ORDER BY n LIMIT $${limitAt})
       UNION ALL
       (SELECT id, n, false AS hit FROM slice ORDER BY n DESC LIMIT 2)`,
      values,
    );
    const hits = rows.filter((row) => row.hit);
    const tail = rows.filter((row) => !row.hit);
    let tasks: Task[] = [];
    if (hits.length > 0) {
      const found = await this.#db.query<PgTaskRow>(`SELECT ${LIST_COLUMNS} FROM offthread.tasks WHERE queue = $1 AND id = ANY($2)`, [
        this.#queue,
        hits.map((hit) => hit.id),
      ]);
      const byId = new Map(found.rows.map((row) => [row.id, rowToTask(row)]));
      tasks = hits.flatMap((hit) => byId.get(hit.id) ?? []);
    }
    if (hits.length === limit) return { tasks, scanned: hits.at(-1)!.n, last: hits.at(-1)!.id };
    const end = tail.find((row) => row.n === scan);
    // The row past the slice (n = scan + 1) was read only to tell that the list goes on.
    if (end !== undefined && tail.some((row) => row.n > scan)) return { tasks, scanned: scan, last: end.id };
    return { tasks, scanned: Math.min(scan, Math.max(0, ...tail.map((row) => row.n))), last: null };
  }

  /** The conditions of list(filter), and their values: the queue's is $1. */
  #listWhere(filter: StoreListFilter): { where: string[]; values: unknown[] } {
    const where = ['queue = $1'];
    const values: unknown[] = [this.#queue];
    const any = (column: string, wanted: unknown): void => {
      const list = Array.isArray(wanted) ? wanted : [wanted];
      values.push(list);
      where.push(`${column} = ANY($${values.length})`);
    };
    if (filter.status !== undefined) any('status', filter.status);
    if (filter.priority !== undefined) any('priority', (Array.isArray(filter.priority) ? filter.priority : [filter.priority]).map(rank));
    if (filter.type !== undefined) any('type', filter.type);
    if (filter.before !== undefined) {
      // Keyset: the (queue, created_at, seq) order of the list index, sought at any depth.
      values.push(filter.before);
      where.push(`(created_at, seq) < (SELECT created_at, seq FROM offthread.tasks WHERE queue = $1 AND id = $${values.length})`);
    } else if (filter.createdBefore !== undefined) {
      values.push(filter.createdBefore);
      where.push(`created_at < $${values.length}`);
    }
    return { where, values };
  }

  async stats(): Promise<TaskStats> {
    const { rows } = await this.#db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::integer AS n FROM offthread.tasks WHERE queue = $1 GROUP BY status',
      [this.#queue],
    );
    return statsOf(rows);
  }

  async cleanup(options: Required<CleanupOptions>, now: number): Promise<number> {
    // Never an unfinished task, whatever the caller passed: a host may still write to it.
    const statuses = FINISHED_STATUSES.filter((s) => options.statuses.includes(s));
    if (statuses.length === 0) return 0;
    const { rowCount } = await this.#db.query('DELETE FROM offthread.tasks WHERE queue = $1 AND status = ANY($2) AND completed_at <= $3', [
      this.#queue,
      statuses,
      now - options.olderThanMs,
    ]);
    return rowCount ?? 0;
  }

  async sweep(status: FinishedStatus, cutoff: number, limit: number): Promise<number> {
    if (!FINISHED_STATUSES.includes(status) || !(limit >= 1)) return 0;
    const { rowCount } = await this.#db.query(
      `DELETE FROM offthread.tasks WHERE queue = $1 AND id IN
         (SELECT id FROM offthread.tasks WHERE queue = $1 AND status = $2 AND completed_at <= $3 ORDER BY completed_at LIMIT $4)`,
      [this.#queue, status, cutoff, Math.floor(limit)],
    );
    return rowCount ?? 0;
  }

  async oldestFinished(status: FinishedStatus): Promise<number | null> {
    if (!FINISHED_STATUSES.includes(status)) return null;
    const { rows } = await this.#db.query<{ at: number | null }>(
      'SELECT min(completed_at) AS at FROM offthread.tasks WHERE queue = $1 AND status = $2 AND completed_at IS NOT NULL',
      [this.#queue, status],
    );
    return rows[0]?.at ?? null;
  }

  /**
   * A host opening the queue holds nothing yet: it claims. What other hosts held under a
   * lease that has lapsed goes back to `queued` (a run that was under way keeps its counted
   * attempt and its checkpoint), for any host to claim.
   */
  async recover(now: number): Promise<RecoveredState> {
    await takeBackLapsed(this.#db, this.#queue, now);
    const { rows } = await this.#db.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM offthread.tasks WHERE queue = $1', [this.#queue]);
    return { unfinished: null, nextSeq: (rows[0]?.seq ?? 0) + 1 };
  }

  /**
   * Ready tasks of the given types (queued, not held, due, every parent finished), most
   * urgent first (with aging, by the priority their wait earned), then submit order, now
   * held by this host until `leaseUntil`.
   */
  async claim(request: ClaimRequest): Promise<StoredTask[]> {
    // A host with rated types claims through ./pg-group-claims.ts whatever the queue's group
    // limits; one without keeps the one statement.
    if (!this.#limited && (request.rates === undefined || request.rates.length === 0)) {
      const { rows, limited } = await claimTasks(this.#leases, this.#queue, this.hostId, request);
      // Limits were set meanwhile (by another host): this claim took nothing, the next counts.
      if (!limited) return rows;
      this.#limited = true;
    }
    return this.#claimLimited(request);
  }

  /**
   * The claim of a queue with group limits (./pg-group-claims.ts). Rows left for lack of
   * their group's room leave room for other groups' rows: claimed again for those, a few
   * times at most (each time, the groups and types that filled up are passed over). The
   * earliest window move any round found is kept: a round that filled a rated type finds it.
   */
  async #claimLimited(request: ClaimRequest): Promise<StoredTask[]> {
    const taken: StoredTask[] = [];
    this.#rateFreesAt = null;
    for (let round = 0; round < LIMITED_ROUNDS && taken.length < request.limit; round++) {
      const claim = await claimLimited(this.#leases, this.#queue, this.hostId, { ...request, limit: request.limit - taken.length });
      if (claim.freesAt !== null && (this.#rateFreesAt === null || claim.freesAt < this.#rateFreesAt)) this.#rateFreesAt = claim.freesAt;
      if (!claim.limited) {
        this.#limited = false;
        taken.push(...(await claimTasks(this.#leases, this.#queue, this.hostId, { ...request, limit: request.limit - taken.length })).rows);
        break;
      }
      taken.push(...claim.rows);
      if (!claim.left) break;
    }
    return taken;
  }

  /** Writes limits of groups for the whole queue (last write wins) and wakes its hosts. */
  setGroupLimits(changes: readonly GroupLimitsChange[]): Promise<void> {
    this.#limited ||= changes.some((change) => change.limits !== null);
    return writeGroupLimits(this.#db, this.#queue, changes, Date.now());
  }

  renew(ids: readonly string[], leaseUntil: number): Promise<string[]> {
    return renewLeases(this.#leases, this.#queue, this.hostId, ids, leaseUntil);
  }

  release(ids: readonly string[]): Promise<void> {
    return releaseTasks(this.#leases, this.#queue, this.hostId, ids);
  }

  reclaimLapsed(now: number): Promise<number> {
    return takeBackLapsed(this.#leases, this.#queue, now);
  }

  /**
   * The earliest delayed task, or the moment a group or type held by its rate may start
   * again, if sooner. That moment may have passed already (the window moved between the
   * claim's count and now): then now, so the host claims again at once, or it would wait
   * for the slow poll.
   */
  async nextDue(types: readonly string[], now: number): Promise<number | null> {
    const due = await nextDueAt(this.#db, this.#queue, types, now);
    const rate = this.#rateFreesAt === null ? null : Math.max(this.#rateFreesAt, now);
    if (rate === null) return due;
    return due === null ? rate : Math.min(due, rate);
  }

  insertKeyed(record: NewTaskRecord, payload: unknown, debounced?: boolean): Promise<string> {
    return insertKeyed(this.#db, this.#leases, this.#queue, record, payload, debounced);
  }

  /**
   * Tells `feed` what the other hosts of the queue do (./pg-feed.ts): ready tasks, their
   * events, commands for tasks this host holds. Resolves once the LISTEN connection listens.
   */
  listen(feed: QueueFeed): Promise<() => void> {
    return this.#feed.add(feed);
  }

  control(id: string, request: ControlRequest): Promise<ControlAnswer> {
    return controlTask(this.#db, this.#queue, this.hostId, id, request, Date.now());
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#feed.close();
      await this.#leases.pool.end();
      await this.#db.pool.end();
    })();
    return this.#closed;
  }
}
