/** The row error of a task whose worker thread died under it. */
import type { ResourceLimits } from 'node:worker_threads';
import type { TaskError } from '../types.js';

export function crashError(error: unknown, resourceLimits: ResourceLimits | undefined): TaskError {
  const reason = error instanceof Error ? error.message : String(error);
  if ((error as { code?: unknown })?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const limits = Object.entries(resourceLimits ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
    return {
      code: 'ERR_WORKER_OUT_OF_MEMORY',
      message:
        `The worker thread running this task ran out of memory${limits ? ` (resourceLimits: ${limits})` : ''}: ${reason}. ` +
        'Raise resourceLimits or make the task use less memory.',
    };
  }
  return { code: 'ERR_WORKER_CRASHED', message: `The worker thread running this task exited: ${reason}` };
}
