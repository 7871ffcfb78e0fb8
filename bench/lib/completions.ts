/**
 * Jobs' ends by id, for the queues whose worker runs in this process (pg-boss,
 * graphile-worker, BullMQ): the worker may finish a job before the producer's add call has
 * returned its id, so whichever side comes first makes the entry and the other finds it.
 */
export class Completions {
  private readonly entries = new Map<string, { promise: Promise<void>; resolve(): void; reject(error: Error): void }>();
  private failure: Error | undefined;

  private entry(id: string) {
    let e = this.entries.get(id);
    if (!e) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      // A job that fails before anyone awaits it must not be an unhandled rejection.
      promise.catch(() => undefined);
      this.entries.set(id, (e = { promise, resolve, reject }));
    }
    return e;
  }

  /** The worker finished job `id`. */
  done(id: string): void {
    this.entry(id).resolve();
  }

  /** The worker failed job `id`: its waiter rejects, and so does every later one. */
  failed(id: string, error: Error): void {
    this.failure ??= error;
    this.entry(id).reject(error);
  }

  /** Resolves once job `id` is done; forgets it then, so a long run holds no finished entries. */
  async when(id: string): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      await this.entry(id).promise;
    } finally {
      this.entries.delete(id);
    }
  }
}
