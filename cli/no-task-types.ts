/**
 * A handlers module with no task types: what `offthread dashboard` opens a producer-only
 * runtime on when no --handlers is given. Such a host cancels, pauses, resumes and
 * re-prioritizes any task of the queue, but submits none (so it offers no retry).
 */
export {};
