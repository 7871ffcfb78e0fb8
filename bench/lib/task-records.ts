/**
 * New rows for the diagnostics that drive a store directly (no runtime): a no-op task's
 * record as a submit would make it, its id random.
 */
import { randomUUID } from 'node:crypto';
import type { NewTaskRecord } from '../../src/store/task-store.js';

export function noopRecord(seq: number, group: string | null = null): NewTaskRecord {
  return {
    seq,
    id: randomUUID(),
    type: 'noop',
    name: null,
    description: null,
    priority: 'normal',
    createdAt: Date.now(),
    runAt: null,
    timeoutMs: null,
    retries: 0,
    backoff: null,
    key: null,
    dependsOn: [],
    onParentFailure: null,
    group,
  };
}
