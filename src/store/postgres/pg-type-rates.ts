/**
 * Type rates for the whole queue (defineTask's `rate`, ./pg-group-claims.ts claims with them):
 * a rated type's room counts its starts on every host, as a group's rate does.
 *
 * No table: the claiming host passes its types' rates (ClaimRequest.rates), the same on every
 * host that runs the type, since they load the same handlers. A claim marks the rows of a
 * rated type it leases (`rated`, migration 7), so the counts below read the two partial
 * indexes over rated rows only: a type without a rate adds nothing to any index.
 *
 * A room is the type's count less its stored starts inside its window and its tasks held and
 * not running (claimed and not started yet, or paused, which will start at or after now). A
 * claim counts every task of the type claimed before it, started or not, so no window of
 * `perMs` ever holds more than `count` stored starts (hosts' clocks must agree, as leases
 * already assume).
 */
import type { TypeRate } from '../task-claims.js';
import type { Queryable } from './pg-db.js';

export interface TypeRoom {
  type: string;
  room: number;
  /** When the type's oldest start inside its window leaves it (or a window from now, if none started yet). */
  frees_at: number;
}

/** $1 the queue, $2 now, $3 the types, $4 their counts, $5 their windows (ms). */
const ROOMS = `SELECT r.type,
       (r.rate_count - p.pending - s.n)::integer AS room,
       (coalesce(s.oldest, $2) + r.per_ms)::bigint AS frees_at
  FROM unnest($3::text[], $4::integer[], $5::double precision[]) AS r(type, rate_count, per_ms)
  CROSS JOIN LATERAL (
    SELECT count(*) AS pending FROM offthread.tasks t
     WHERE t.queue = $1 AND t.type = r.type AND t.rated AND t.lease_owner IS NOT NULL AND t.status <> 'running') p
  CROSS JOIN LATERAL (
    SELECT count(*) AS n, min(t.started_at) AS oldest FROM offthread.tasks t
     WHERE t.queue = $1 AND t.type = r.type AND t.rated AND t.started_at IS NOT NULL AND t.started_at > $2 - r.per_ms) s`;

/**
 * One lock per rated type of a queue, in the order given (sorted). Its own first key, so a
 * type never waits on a group of the same name; every claim locks its types before its
 * groups, so no two claims wait in a circle.
 */
const LOCK_TYPES = "SELECT pg_advisory_xact_lock(hashtext($1 || ' types'), hashtext(t)) FROM unnest($2::text[]) AS t";

export async function typeRooms(client: Queryable, queue: string, now: number, rates: readonly TypeRate[]): Promise<TypeRoom[]> {
  if (rates.length === 0) return [];
  const { rows } = await client.query<TypeRoom>(ROOMS, [queue, now, rates.map((rate) => rate.type), rates.map((rate) => rate.count), rates.map((rate) => rate.perMs)]);
  return rows;
}

/** Locks the rates' types (sorted first): no other claim changes their rooms until this one commits. */
export async function lockTypes(client: Queryable, queue: string, rates: readonly TypeRate[]): Promise<void> {
  if (rates.length === 0) return;
  await client.query(LOCK_TYPES, [queue, rates.map((rate) => rate.type).sort()]);
}

/** The rates of the types among `rows`. */
export function ratesOf(rows: ReadonlyArray<{ type: string }>, rates: readonly TypeRate[]): TypeRate[] {
  const seen = new Set(rows.map((row) => row.type));
  return rates.filter((rate) => seen.has(rate.type));
}
