/**
 * The claim of a queue that has group limits (offthread.group_limits, ./pg-group-limits.ts),
 * or of a host that runs types with a rate (./pg-type-rates.ts): a group's cap counts its
 * tasks leased by every host (claimed or running), and a group's or type's rate its starts
 * on every host, so the limits hold queue-wide. A rated type is held as a limited group is:
 * left out of the walk when it has no room, locked and counted again before its rows are leased.
 *
 * One transaction: the rooms of the groups that hold leases or started lately (what they
 * may still take); the walk of ./pg-claims.ts passing over the groups with no room (so a
 * group at its cap never blocks the others); then, for the limited groups among the rows
 * picked, a lock each (pg_advisory_xact_lock, in name order) and their rooms again, now that
 * no other claim can change them until this one commits; rows past a group's room are left.
 * The first count only steers the walk: the second, under the locks, decides.
 *
 * A rate counts the starts stored (started_at) inside its window, plus the tasks held and
 * not running (claimed and not started yet, or paused), which will start at or after now. Since a claim counts every task of
 * the group claimed before it, started or not, no window of `perMs` ever holds more than
 * `count` stored starts (hosts' clocks must agree, as leases already assume).
 */
import type { ClaimRequest, StoredTask, TypeRate } from '../task-claims.js';
import { aged, leaseRows, readyRows, readyValues } from './pg-claims.js';
import type { PgDb, Queryable } from './pg-db.js';
import { rowToStoredTask, type PgTaskRow } from './pg-rows.js';
import { lockTypes, ratesOf, typeRooms, type TypeRoom } from './pg-type-rates.js';

/** The limits of the queue's groups, as stored: '' is the default of groups without their own. */
export interface StoredLimits {
  group_name: string;
  concurrency: number | null;
  rate_count: number | null;
  rate_per_ms: number | null;
}

/** What a claim found: its rows; whether it was limited at all (group limits or type rates); when a rate-held group or type may go again. */
export interface LimitedClaim {
  rows: StoredTask[];
  limited: boolean;
  /** Epoch ms at which the window of a group or type held by its rate moves, or null. */
  freesAt: number | null;
  /** Rows picked were left for lack of room: a claim again may take other groups' rows instead. */
  left: boolean;
}

/**
 * Rooms: per limited group (those that hold leases or started inside the longest window,
 * plus `$3` when given), how many more it may take now, and when its oldest start inside
 * its window leaves it (held by tasks claimed and not started yet, which start at or after
 * now: a window from now, the earliest its first start can leave it). $1 the queue, $2 now.
 */
const ROOMS = `WITH lim AS (SELECT group_name, concurrency, rate_count, rate_per_ms FROM offthread.group_limits WHERE queue = $1),
  dflt AS (SELECT concurrency, rate_count, rate_per_ms FROM lim WHERE group_name = ''),
  horizon AS (SELECT coalesce(max(rate_per_ms), 0) AS ms FROM lim),
  leased AS (
    SELECT group_name AS g, count(*) AS leased, count(*) FILTER (WHERE status <> 'running') AS pending
      FROM offthread.tasks
     WHERE queue = $1 AND lease_owner IS NOT NULL AND group_name IS NOT NULL AND ($3::text[] IS NULL OR group_name = ANY($3::text[]))
     GROUP BY 1),
  starts AS (
    SELECT group_name AS g, started_at AS at FROM offthread.tasks
     WHERE queue = $1 AND started_at IS NOT NULL AND group_name IS NOT NULL
       AND started_at > $2 - (SELECT ms FROM horizon) AND ($3::text[] IS NULL OR group_name = ANY($3::text[]))),
  groups AS (
    SELECT g FROM unnest(coalesce($3::text[], '{}')) AS g UNION SELECT g FROM leased UNION SELECT g FROM starts),
  eff AS (
    SELECT gr.g,
           CASE WHEN l.group_name IS NULL THEN d.concurrency ELSE l.concurrency END AS cap,
           CASE WHEN l.group_name IS NULL THEN d.rate_count ELSE l.rate_count END AS rate_count,
           CASE WHEN l.group_name IS NULL THEN d.rate_per_ms ELSE l.rate_per_ms END AS per_ms
      FROM groups gr LEFT JOIN lim l ON l.group_name = gr.g LEFT JOIN dflt d ON true),
  recent AS (
    SELECT s.g, count(*) AS n, min(s.at) AS oldest FROM starts s JOIN eff e ON e.g = s.g
     WHERE s.at > $2 - e.per_ms GROUP BY s.g)
SELECT e.g AS "group",
       LEAST(e.cap - coalesce(le.leased, 0), e.rate_count - coalesce(le.pending, 0) - coalesce(r.n, 0))::integer AS room,
       CASE WHEN e.rate_count IS NULL THEN NULL ELSE (coalesce(r.oldest, $2) + e.per_ms)::bigint END AS frees_at
  FROM eff e LEFT JOIN leased le ON le.g = e.g LEFT JOIN recent r ON r.g = e.g
 WHERE e.cap IS NOT NULL OR e.rate_count IS NOT NULL`;

const LIMITS = 'SELECT group_name, concurrency, rate_count, rate_per_ms FROM offthread.group_limits WHERE queue = $1';

/** One lock per group of a queue, taken in the order given (sorted: no two claims wait in a circle). */
const LOCK_GROUPS = 'SELECT pg_advisory_xact_lock(hashtext($1), hashtext(g)) FROM unnest($2::text[]) AS g';

const WALK = readyRows(false);
const WALK_AGING = readyRows(true);
const LEASE = `WITH ${leaseRows('SELECT unnest($4::text[])', '$2', '$3')} SELECT * FROM claimed`;
/** The lease of a host with rated types ($5): their rows are marked, for ./pg-type-rates.ts to count. */
const LEASE_RATED = `WITH ${leaseRows('SELECT unnest($4::text[])', '$2', '$3', '$5::text[]')} SELECT * FROM claimed`;

/** A row the walk picked. */
interface Picked {
  id: string;
  group_name: string | null;
  type: string;
}

interface Room {
  group: string;
  room: number;
  frees_at: number | null;
}

export async function claimLimited(db: PgDb, queue: string, hostId: string, request: ClaimRequest): Promise<LimitedClaim> {
  const rates = request.rates ?? [];
  return db.transaction(async (client) => {
    const limits = (await client.query<StoredLimits>(LIMITS, [queue])).rows;
    if (limits.length === 0 && rates.length === 0) return { rows: [], limited: false, freesAt: null, left: false };
    const rooms = limits.length === 0 ? [] : (await client.query<Room>(ROOMS, [queue, request.now, null])).rows;
    const typeRoomsNow = await typeRooms(client, queue, request.now, rates);
    const freesAt = earliestFree([...rooms, ...typeRoomsNow], request.now);
    const passOver = rooms.filter((room) => room.room <= 0).map((room) => room.group);
    // A type held by its rate is left out of the walk, as a full group is passed over: its
    // rows never block the others'.
    const held = new Set(typeRoomsNow.filter((room) => room.room <= 0).map((room) => room.type));
    const types = held.size === 0 ? request.types : request.types.filter((type) => !held.has(type));
    if (types.length === 0) return { rows: [], limited: true, freesAt, left: false };
    const { rows: picked } = await client.query<Picked>(aged(request) ? WALK_AGING : WALK, readyValues(queue, { ...request, types }, passOver));
    if (picked.length === 0) return { rows: [], limited: true, freesAt, left: false };
    // Types, then groups, each in name order: every claim locks in that order.
    const ratedTypes = ratesOf(picked, rates);
    const limitedGroups = groupsLimited(picked, limits);
    await lockTypes(client, queue, ratedTypes);
    if (limitedGroups.length > 0) await client.query(LOCK_GROUPS, [queue, limitedGroups]);
    const groupRooms = limitedGroups.length === 0 ? [] : (await client.query<Room>(ROOMS, [queue, request.now, limitedGroups])).rows;
    const kept = withinRooms(picked, groupRooms, await typeRooms(client, queue, request.now, ratedTypes));
    const rows = await lease(client, queue, hostId, request, kept.map((row) => row.id), rates);
    return { rows, limited: true, freesAt, left: kept.length < picked.length };
  });
}

async function lease(client: Queryable, queue: string, hostId: string, request: ClaimRequest, ids: string[], rates: readonly TypeRate[]): Promise<StoredTask[]> {
  if (ids.length === 0) return [];
  const { rows } =
    rates.length === 0
      ? await client.query<PgTaskRow>(LEASE, [queue, hostId, request.leaseUntil, ids])
      : await client.query<PgTaskRow>(LEASE_RATED, [queue, hostId, request.leaseUntil, ids, rates.map((rate) => rate.type)]);
  return rows.map(rowToStoredTask);
}

/** The picked rows' groups that have limits of their own or fall under the default, sorted. */
function groupsLimited(picked: ReadonlyArray<{ group_name: string | null }>, limits: readonly StoredLimits[]): string[] {
  const own = new Map(limits.map((limit) => [limit.group_name, limit]));
  const fallback = own.get('');
  const bounded = (limit: StoredLimits | undefined): boolean => limit !== undefined && (limit.concurrency !== null || limit.rate_count !== null);
  const groups = new Set<string>();
  for (const { group_name: group } of picked) {
    if (group !== null && bounded(own.get(group) ?? fallback)) groups.add(group);
  }
  return [...groups].sort();
}

/**
 * The picked rows, in their order, but at most a group's room of each limited group and a
 * type's room of each rated type: a row left for one takes nothing of the other's room.
 */
function withinRooms(picked: readonly Picked[], rooms: readonly Room[], types: readonly TypeRoom[]): Picked[] {
  const groupLeft = new Map(rooms.map((room) => [room.group, room.room]));
  const typeLeft = new Map(types.map((room) => [room.type, room.room]));
  return picked.filter((row) => {
    const group = row.group_name === null ? undefined : groupLeft.get(row.group_name);
    const type = typeLeft.get(row.type);
    if ((group !== undefined && group <= 0) || (type !== undefined && type <= 0)) return false;
    if (group !== undefined) groupLeft.set(row.group_name!, group - 1);
    if (type !== undefined) typeLeft.set(row.type, type - 1);
    return true;
  });
}

/** When the earliest window of a group or type its rate holds back moves (after now), or null. */
function earliestFree(rooms: ReadonlyArray<{ room: number; frees_at: number | null }>, now: number): number | null {
  let at: number | null = null;
  for (const room of rooms) {
    if (room.room > 0 || room.frees_at === null || room.frees_at <= now) continue;
    if (at === null || room.frees_at < at) at = room.frees_at;
  }
  return at;
}
