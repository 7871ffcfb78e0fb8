/**
 * Where a runtime's group limits live. On a SQLite file, in the host's dispatcher
 * (src/scheduler/dispatch-limits.ts). On a shared queue whose store keeps them
 * (PostgreSQL), in the store, for every host: its claims never take a row of a group at its
 * cap or rate, counted across hosts, so the dispatcher is given none (a copy of its own
 * would lag behind a change made on another host, and hold back what the queue allows).
 */
import type { DispatchLimits } from './scheduler/dispatch-limits.js';
import type { GroupLimitsChange, TaskClaims } from './store/task-claims.js';
import type { GroupLimits } from './types.js';

/** The limits the host's own dispatcher applies: none when the store holds them queue-wide. */
export function dispatcherGroups(store: TaskClaims, groups: Readonly<Record<string, GroupLimits>>): Readonly<Record<string, GroupLimits>> {
  return store.setGroupLimits === undefined ? groups : {};
}

/**
 * The `groups` option of a host opening a shared queue, written for the whole queue (its
 * `default` as the queue's default): the last host to write a group's limits sets them.
 */
export async function publishGroups(store: TaskClaims, groups: Readonly<Record<string, GroupLimits>>): Promise<void> {
  if (store.setGroupLimits === undefined) return;
  const changes: GroupLimitsChange[] = Object.entries(groups).map(([group, limits]) => ({ group: group === 'default' ? null : group, limits }));
  await store.setGroupLimits(changes);
}

/** `setGroupLimits`: the queue's limits for the group once stored, or this host's at once. */
export function changeGroupLimits(store: TaskClaims, local: DispatchLimits, group: string, limits: GroupLimits | null): Promise<void> {
  if (store.setGroupLimits === undefined) {
    local.setGroupLimits(group, limits);
    return Promise.resolve();
  }
  return store.setGroupLimits([{ group, limits }]);
}
