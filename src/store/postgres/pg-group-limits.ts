/**
 * The queue-wide limits of groups (offthread.group_limits, migration 6): one truth for
 * every host, read by each claim (./pg-group-claims.ts). A host's `groups` option writes
 * its groups' limits when it opens, and `setGroupLimits` writes one group's; the last write
 * wins. Every write wakes the queue's hosts (the ready channel), so a raised cap or lifted
 * rate lets held-back tasks go at once on any host.
 */
import type { GroupLimitsChange } from '../task-claims.js';
import { READY_CHANNEL } from './pg-channels.js';
import type { PgDb } from './pg-db.js';

const UPSERT = `INSERT INTO offthread.group_limits (queue, group_name, concurrency, rate_count, rate_per_ms, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (queue, group_name) DO UPDATE
    SET concurrency = EXCLUDED.concurrency, rate_count = EXCLUDED.rate_count, rate_per_ms = EXCLUDED.rate_per_ms, updated_at = EXCLUDED.updated_at`;
const REMOVE = 'DELETE FROM offthread.group_limits WHERE queue = $1 AND group_name = $2';

export async function writeGroupLimits(db: PgDb, queue: string, changes: readonly GroupLimitsChange[], now: number): Promise<void> {
  if (changes.length === 0) return;
  await db.transaction(async (client) => {
    for (const { group, limits } of changes) {
      // '' stands for the default: a group's name is never empty.
      const name = group ?? '';
      if (limits === null) await client.query(REMOVE, [queue, name]);
      else await client.query(UPSERT, [queue, name, limits.concurrency ?? null, limits.rate?.count ?? null, limits.rate?.perMs ?? null, now]);
    }
    await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, queue]);
  });
}

/**
 * A commit that ends a task wakes the hosts when the queue has group limits: a group held
 * at its cap may go again (a subquery for ./pg-patches.ts; $1 is the queue).
 */
export const QUEUE_LIMITED = 'SELECT 1 FROM offthread.group_limits WHERE queue = $1';
