/**
 * A pause, resume, cancel or priority for a task this host does not hold (ControlAnswer in
 * src/store/task-claims.ts), decided in one transaction with the task's row locked, so the
 * row cannot be claimed or ended meanwhile:
 * - a host holds it (this one too): the command is sent on offthread_control to that host,
 *   which applies it through its own state owner (`sent`);
 * - no host holds it: the store changes the row itself and tells the other hosts the events
 *   a runtime would have emitted for it (`applied`); a command that does not apply to the
 *   task's status changes nothing (`unchanged`).
 */
import { CANCELLED } from '../../scheduler/task-endings.js';
import { FINISHED_STATUSES, type TaskEvent, type TaskStatus } from '../../types.js';
import { encodeError } from '../codec.js';
import { rank } from '../columns.js';
import type { ControlAnswer, ControlRequest } from '../task-claims.js';
import { CONTROL_CHANNEL, controlMessage, READY_CHANNEL } from './pg-channels.js';
import type { PgDb, Queryable } from './pg-db.js';
import { eventPayloads, publishEvents } from './pg-events.js';

/** What a command does to a row no host holds: the UPDATE's SET and values (from $3), the events, whether it may be claimed now. */
interface RowChange {
  set: string;
  values: unknown[];
  events: TaskEvent[];
  ready: boolean;
}

function changeOf(id: string, taskType: string, request: ControlRequest, status: TaskStatus, now: number): RowChange | undefined {
  switch (request.action) {
    case 'cancel':
      if (status !== 'queued' && status !== 'paused') return undefined;
      return {
        set: "status = 'cancelled', error = $3, completed_at = $4, updated_at = $4",
        values: [encodeError(CANCELLED), now],
        events: [{ type: 'cancelled', taskId: id, taskType, at: now, error: { ...CANCELLED } }],
        // Its children wait for it to end.
        ready: true,
      };
    case 'pause':
      if (status !== 'queued') return undefined;
      return { set: "status = 'paused', updated_at = $3", values: [now], events: [{ type: 'paused', taskId: id, taskType, at: now }], ready: false };
    case 'resume':
      if (status !== 'paused') return undefined;
      return { set: "status = 'queued', updated_at = $3", values: [now], events: [{ type: 'resumed', taskId: id, taskType, at: now }], ready: true };
    case 'send':
      // Only a task that a host runs can be told anything (that host is asked, above).
      return undefined;
    case 'setPriority':
      if (status !== 'queued' && status !== 'paused') return undefined;
      return { set: 'priority = $3, updated_at = $4', values: [rank(request.priority), now], events: [], ready: false };
  }
}

export async function controlTask(db: PgDb, queue: string, hostId: string, id: string, request: ControlRequest, now: number): Promise<ControlAnswer> {
  // An unknown priority is refused before anything is read (InvalidOptionError).
  if (request.action === 'setPriority') rank(request.priority);
  return db.transaction(async (client: Queryable): Promise<ControlAnswer> => {
    const { rows } = await client.query<{ status: TaskStatus; type: string; lease_owner: string | null }>(
      'SELECT status, type, lease_owner FROM offthread.tasks WHERE queue = $1 AND id = $2 FOR UPDATE',
      [queue, id],
    );
    const row = rows[0];
    if (row === undefined) return { kind: 'unknown' };
    const { status } = row;
    if (FINISHED_STATUSES.includes(status)) return { kind: 'unchanged', status };
    // A message goes to a task a host holds: the row may not say `running` yet when its run
    // has begun there (the host writes it a batch later), so the holder decides.
    if (request.action === 'send' && row.lease_owner === null) return { kind: 'unchanged', status };
    if (row.lease_owner !== null) {
      await client.query('SELECT pg_notify($1, $2)', [CONTROL_CHANNEL, controlMessage(queue, row.lease_owner, id, request)]);
      return { kind: 'sent' };
    }
    const change = changeOf(id, row.type, request, status, now);
    if (change === undefined) return { kind: 'unchanged', status };
    await client.query(`UPDATE offthread.tasks SET ${change.set} WHERE queue = $1 AND id = $2`, [queue, id, ...change.values]);
    // As a commit does: the wake-up first, then the events.
    if (change.ready) await client.query('SELECT pg_notify($1, $2)', [READY_CHANNEL, queue]);
    await publishEvents(client, eventPayloads(queue, hostId, change.events));
    return { kind: 'applied', events: change.events };
  });
}
