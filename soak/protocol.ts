/**
 * What the model run says to its host process over IPC, and what the host answers. The
 * host holds the runtime, so a SIGKILL of it is a real crash of the process that owns the
 * database; everything crossing here is plain data.
 */
import type { Priority, TaskStats, TaskStatus } from 'offthread';

export type TaskKind = 'blocker' | 'quick';

export type HostRequest =
  | { op: 'open'; database: string; released: string[] }
  | { op: 'close'; graceful: boolean }
  | { op: 'submit'; kind: TaskKind; priority: Priority }
  | { op: 'cancel' | 'pause' | 'resume' | 'release'; id: string }
  | { op: 'setPriority'; id: string; priority: Priority }
  | { op: 'snapshot'; ids: string[] };

/** The fields of a Task the model looks at. */
export interface TaskView {
  id: string;
  status: TaskStatus;
  priority: Priority;
  attempts: number;
  startedAt: number | null;
}

export interface Snapshot {
  /** get(id) of each asked id, in order (null: get gave undefined). */
  gets: (TaskView | null)[];
  /** list() of every task, read after the gets. */
  list: TaskView[];
  stats: TaskStats;
}

/** A rejection as the caller saw it: `offthread` says whether it was an OffthreadError. */
export interface HostError {
  offthread: boolean;
  code: string | null;
  message: string;
}

/**
 * With `check`, the host reads those tasks right after carrying the request out (a submit
 * adds its new task), and sends the snapshot with the answer: one round trip a command.
 */
export type HostMessage = { seq: number; request: HostRequest; check?: string[] };

export type HostReply = { seq: number; snapshot?: Snapshot | { failed: HostError } } & (
  | { ok: true; value: unknown }
  | { ok: false; error: HostError }
);
