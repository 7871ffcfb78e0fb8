/**
 * Every error offthread throws is an OffthreadError. Match on `code`, never on the message or
 * the class name: codes are stable across versions, messages are for people.
 * The codes are listed in docs/guides/errors.md.
 */
export class OffthreadError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** `submit` named a type the handlers module does not export. */
export class UnknownTaskTypeError extends OffthreadError {
  constructor(
    readonly taskType: string,
    known: readonly string[],
  ) {
    super(
      'ERR_UNKNOWN_TASK_TYPE',
      `Unknown task type "${taskType}". The handlers module exports: ${
        known.length > 0 ? known.join(', ') : '(no defineTask exports)'
      }. Export a handler made with defineTask() under that name.`,
    );
  }
}

/** An option or argument is missing, of the wrong type or out of range. */
export class InvalidOptionError extends OffthreadError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('ERR_INVALID_OPTION', `Invalid option "${option}": ${message}`);
  }
}

/**
 * A shortened task id matches more than one task. `candidates` are two of the matching ids
 * (the first two in id order); there may be more.
 */
export class AmbiguousIdError extends OffthreadError {
  constructor(
    readonly prefix: string,
    readonly candidates: readonly string[],
  ) {
    super(
      'ERR_AMBIGUOUS_ID',
      `More than one task id starts with "${prefix}": ${candidates.join(', ')}, and maybe others. ` +
        'Give more characters of the id, or the whole id.',
    );
  }
}

export class TaskNotFoundError extends OffthreadError {
  constructor(readonly taskId: string) {
    super('ERR_TASK_NOT_FOUND', `No task with id "${taskId}" (it may have been removed by cleanup).`);
  }
}

/** The task's status does not allow the move that was asked for. */
export class InvalidTransitionError extends OffthreadError {
  constructor(
    readonly taskId: string,
    readonly from: string,
    readonly action: string,
    detail?: string,
  ) {
    super(
      'ERR_INVALID_TRANSITION',
      `Cannot ${action} task "${taskId}": it is ${from}${detail ? ` (${detail})` : ''}.`,
    );
  }
}

/** A payload or result cannot be structured-cloned (functions, symbols, class instances with natives ...). */
export class NotCloneableError extends OffthreadError {
  constructor(what: string, cause: unknown) {
    super(
      'ERR_NOT_CLONEABLE',
      `The ${what} cannot be structured-cloned: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Pass plain data (objects, arrays, strings, numbers, Dates, Maps, Sets, typed arrays).',
      { cause },
    );
  }
}

/**
 * A payload or result whose stored encoding (v8 serialization) is larger than the
 * `maxPayloadBytes` limit of its task type or of the runtime. `what` says which value it is
 * ("the payload of a \"resize\" task", "the result of task \"...\""); `size` and `limit`
 * are bytes.
 */
export class PayloadTooLargeError extends OffthreadError {
  constructor(
    what: string,
    readonly size: number,
    readonly limit: number,
    advice = `(maxPayloadBytes). Raise maxPayloadBytes (in TaskRuntime.open, or in the type's defineTask options), or store the data elsewhere ` +
      '(a file, a database row, an object store) and pass a reference to it.',
  ) {
    super('ERR_PAYLOAD_TOO_LARGE', `${what[0]!.toUpperCase()}${what.slice(1)} is ${size} bytes encoded, over the limit of ${limit} bytes ${advice}`);
  }
}

/** A call after `close()`: of a runtime, or of an inspector (`what`). */
export class RuntimeClosedError extends OffthreadError {
  constructor(action: string, what: 'runtime' | 'inspector' = 'runtime') {
    super(
      'ERR_RUNTIME_CLOSED',
      what === 'runtime'
        ? `Cannot ${action}: the runtime is closed. Open a new one with TaskRuntime.open().`
        : `Cannot ${action}: the inspector is closed. Open a new one with openInspector().`,
    );
  }
}

/** The handlers module could not be found or loaded. */
export class HandlersLoadError extends OffthreadError {
  constructor(handlers: string, cause: unknown) {
    super(
      'ERR_HANDLERS_LOAD',
      `Could not load the handlers module ${handlers}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** Rejection of `result()` for a task that failed. `taskError` is the row's error. */
export class TaskFailedError extends OffthreadError {
  constructor(
    readonly taskId: string,
    readonly taskError: { code: string; message: string },
  ) {
    super('ERR_TASK_FAILED', `Task "${taskId}" failed: ${taskError.message} (${taskError.code})`);
  }
}

/** Rejection of `result()` for a task that was cancelled. */
export class TaskCancelledError extends OffthreadError {
  constructor(
    readonly taskId: string,
    reason = 'cancelled',
  ) {
    super('ERR_TASK_CANCELLED', taskId === '' ? `The task was ${reason}.` : `Task "${taskId}" was ${reason}.`);
  }
}

/**
 * The database file was written by a newer offthread (its schema version is higher than this
 * code knows), or, when opened read-only, by an older one that still needs migrating. The file
 * is left untouched.
 */
export class StoreVersionError extends OffthreadError {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      'ERR_STORE_VERSION',
      found > supported
        ? `The database ${file} has schema version ${found}, but this offthread knows only up to ${supported}. ` +
            'Upgrade offthread to open it; the file was not modified.'
        : `The database ${file} has schema version ${found} and needs migrating to ${supported}. ` +
            'Open it once read-write to migrate it.',
    );
  }
}

/** The database file cannot be opened or created (missing folder, no permission ...). */
export class StoreUnavailableError extends OffthreadError {
  constructor(
    readonly file: string,
    cause: unknown,
    advice = 'Check that its folder exists and is writable.',
  ) {
    super('ERR_STORE_UNAVAILABLE', `Cannot open the database ${file}: ${cause instanceof Error ? cause.message : String(cause)}. ${advice}`, { cause });
  }
}

/**
 * True when `error` says the store could not be reached (ERR_STORE_UNAVAILABLE): a shared
 * store's server is down or the connection to it dropped. Nothing is wrong with the call
 * itself; it may be made again later. Any other error is a real failure.
 */
export function isUnavailable(error: unknown): error is StoreUnavailableError {
  // By its code, as every OffthreadError is matched: not by class, which two copies of the
  // package (or a bundle) would each have their own of.
  return error instanceof Error && (error as { code?: unknown }).code === 'ERR_STORE_UNAVAILABLE';
}

/**
 * There is no database file at that path, and the call that found so does not create one
 * (inspection: `openInspector`). Nothing was created.
 */
export class StoreNotFoundError extends OffthreadError {
  constructor(
    readonly file: string,
    readonly resolved: string,
  ) {
    super(
      'ERR_STORE_NOT_FOUND',
      `No database at ${file} (${resolved}); nothing was created. Check the path: it is the \`database\` a runtime was opened with.`,
    );
  }
}

/**
 * The database cannot grow: the disk (or the user's quota) is full. What failed to be
 * written is named by the call that rejects with it; `cause` is the driver's error.
 */
export class StoreFullError extends OffthreadError {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      'ERR_STORE_FULL',
      `The database ${file} cannot grow: its disk or quota is full (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'Free space on its filesystem, or raise the quota, then try again.',
      { cause },
    );
  }
}

/** The disk under the database failed a read or a write (an I/O error); `cause` is the driver's error. */
export class StoreIOError extends OffthreadError {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      'ERR_STORE_IO',
      `The disk under the database ${file} failed a read or a write (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'Check the disk and the filesystem (dmesg, fsck), then try again.',
      { cause },
    );
  }
}

/** The file exists but is not an SQLite database, or is damaged. It is left as it is. */
export class StoreCorruptError extends OffthreadError {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      'ERR_STORE_CORRUPT',
      `The file ${file} is not a usable offthread database (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'It was not modified; point `database` at another file.',
      { cause },
    );
  }
}

/** Who holds a database file, as recorded next to it (`<file>.owner`). */
export interface StoreOwner {
  pid: number;
  hostname: string;
  /** ISO time at which the owner took the file. */
  since: string;
}

/**
 * Another runtime (in this process or another) has the database file open read-write. The
 * lock is released when that runtime closes or its process exits, however it exits.
 */
export class StoreLockedError extends OffthreadError {
  constructor(
    readonly file: string,
    readonly owner: StoreOwner | undefined,
  ) {
    const who =
      owner === undefined
        ? 'another offthread runtime (its pid is not recorded yet)'
        : `another offthread runtime (pid ${owner.pid} on ${owner.hostname}, since ${owner.since})`;
    super(
      'ERR_STORE_LOCKED',
      `The database ${file} is in use by ${who}. Only one runtime may open a database file at a time: ` +
        `close that runtime${owner === undefined ? '' : ` or stop process ${owner.pid}`} and open it again, ` +
        'or open it with { readonly: true } to inspect it. The file was not modified.',
    );
  }
}

/** A dashboard could not listen: its port is taken (or the address cannot be bound). */
export class DashboardListenError extends OffthreadError {
  constructor(
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    const code = (cause as { code?: unknown }).code;
    super(
      'ERR_DASHBOARD_LISTEN',
      code === 'EADDRINUSE'
        ? `Cannot serve the dashboard on ${host}:${port}: the port is in use. Pass another { port }, or port 0 to take any free one.`
        : `Cannot serve the dashboard on ${host}:${port}: ${(cause as Error).message}. Check the host and port.`,
      { cause },
    );
  }
}

/**
 * `output$` of a task that runs on another host lost values on the way: the connection to
 * the PostgreSQL server that carries them was cut (they are not stored, so they cannot be
 * sent again).
 */
export class OutputLostError extends OffthreadError {
  constructor(readonly taskId: string) {
    super(
      'ERR_OUTPUT_LOST',
      `Values of task "${taskId}" emitted on another host were lost on the way here (the connection to the PostgreSQL server was cut). Subscribe to output$ again for the values from now on, and keep what must not be lost in the task's result or checkpoint.`,
    );
  }
}
