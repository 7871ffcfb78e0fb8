/**
 * Which live tasks wait for which: parent id -> the unfinished children that depend on it.
 * A child becomes ready when its last parent completes; a parent that fails or is cancelled
 * either takes the child down with it (ERR_DEPENDENCY_FAILED, and on down the chain) or,
 * with onParentFailure 'run', only tells it so (ctx.failedDependencies).
 */
import type { TaskError, TaskStatus } from '../types.js';
import type { LiveTask } from './live-task.js';

/** A parent as known when a child is submitted or recovered. */
export interface ParentState {
  id: string;
  status: TaskStatus;
  result?: unknown;
  error?: TaskError | null;
}

export class DependencyGraph {
  private readonly children = new Map<string, LiveTask[]>();

  /**
   * Records a child's parents. Finished parents are accounted for at once; returns the
   * error of the first parent that did not complete, if any.
   */
  attach(child: LiveTask, parents: ParentState[]): TaskError | undefined {
    let failed: TaskError | undefined;
    child.unfinishedParents = 0;
    for (const parent of parents) {
      if (parent.status === 'completed') {
        (child.dependencies ??= {})[parent.id] = parent.result;
      } else if (parent.status === 'failed' || parent.status === 'cancelled') {
        const error = parent.error ?? { code: `ERR_TASK_${parent.status.toUpperCase()}`, message: parent.status };
        (child.failedDependencies ??= {})[parent.id] = error;
        failed ??= dependencyError(parent.id, parent.status, error);
      } else {
        child.unfinishedParents++;
        const waiting = this.children.get(parent.id);
        if (waiting === undefined) this.children.set(parent.id, [child]);
        else waiting.push(child);
      }
    }
    return failed;
  }

  /**
   * A parent finished. Calls `ready` for each child whose last parent this was, and
   * `doomed` for each child that must be cancelled because of it.
   */
  parentFinished(
    parentId: string,
    status: 'completed' | 'failed' | 'cancelled',
    outcome: { result?: unknown; error?: TaskError },
    ready: (child: LiveTask) => void,
    doomed: (child: LiveTask, error: TaskError) => void,
  ): void {
    const children = this.children.get(parentId);
    if (children === undefined) return;
    this.children.delete(parentId);
    for (const child of children) {
      if (child.ended) continue;
      child.unfinishedParents--;
      if (status === 'completed') {
        (child.dependencies ??= {})[parentId] = outcome.result;
      } else {
        const error = outcome.error!;
        (child.failedDependencies ??= {})[parentId] = error;
        if (child.relations.onParentFailure === 'cancel') {
          doomed(child, dependencyError(parentId, status, error));
          continue;
        }
      }
      if (child.unfinishedParents === 0) ready(child);
    }
  }

  /** Whether some live task waits for this one (its result must then be read on finish). */
  hasChildren(parentId: string): boolean {
    return this.children.has(parentId);
  }
}

function dependencyError(parentId: string, status: string, error: TaskError): TaskError {
  return {
    code: 'ERR_DEPENDENCY_FAILED',
    message: `Parent task "${parentId}" ${status === 'failed' ? 'failed' : 'was cancelled'} (${error.code}: ${error.message}).`,
  };
}
