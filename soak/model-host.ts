/**
 * The process that holds the runtime for the model run (forked with an IPC channel). It
 * carries out one request at a time and answers each; the model run SIGKILLs it to crash
 * the runtime for real and forks another on the same file.
 */
import { OffthreadError, TaskRuntime, type Task } from 'offthread';
import type { BlockerServices } from './handlers.js';
import type { HostError, HostMessage, HostReply, HostRequest, Snapshot, TaskView } from './protocol.js';
import { builtHandlers } from './script-path.js';

const CONCURRENCY = 2;

/**
 * Release and wake-ups for the blocker handler. A wake-up asked while no handler waits is
 * kept for its next wait, so a pause set just after its checkpoint is still seen at the
 * following one: the handler cannot sleep through a pause or a cancel.
 */
class Blockers {
  released = new Set<string>();
  private readonly waiting = new Map<string, (released: boolean) => void>();
  private readonly woken = new Set<string>();

  readonly services: BlockerServices = {
    nextTurn: (id) => {
      if (this.released.has(id)) return Promise.resolve(true);
      if (this.woken.delete(id)) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => this.waiting.set(id, resolve));
    },
  };

  wake(id: string): void {
    const resolve = this.waiting.get(id);
    if (resolve === undefined) {
      this.woken.add(id);
      return;
    }
    this.waiting.delete(id);
    resolve(this.released.has(id));
  }

  /** For a report of a stuck command. */
  state(id: string): string {
    return `${this.waiting.has(id) ? 'waits for its turn' : 'does not wait for its turn'}, wake-up ${this.woken.has(id) ? 'kept' : 'none'}, ${this.released.has(id) ? 'released' : 'not released'}`;
  }

  /** The threads of a closed runtime are gone, and with them whoever waited. */
  forget(): void {
    this.waiting.clear();
    this.woken.clear();
  }
}

const blockers = new Blockers();
let runtime: TaskRuntime | undefined;
let closedAt = 0;

function view(task: Task): TaskView {
  return { id: task.id, status: task.status, priority: task.priority, attempts: task.attempts, startedAt: task.startedAt };
}

function open(): TaskRuntime {
  if (runtime === undefined) throw new Error('no runtime open in the model host');
  return runtime;
}

async function carryOut(request: HostRequest): Promise<unknown> {
  switch (request.op) {
    case 'open': {
      // Starts of the last incarnation are all before this instant (see Model.startedHere).
      while (Date.now() <= closedAt) {
        // under a millisecond: the clock has to move past the close
      }
      const openedAt = Date.now();
      blockers.forget();
      blockers.released = new Set(request.released);
      runtime = await TaskRuntime.open({
        handlers: builtHandlers(),
        database: request.database,
        concurrency: CONCURRENCY,
        services: blockers.services,
      });
      return openedAt;
    }
    case 'close': {
      const closing = open();
      runtime = undefined;
      // A graceful close waits for running tasks; a blocker never ends by itself, so the
      // grace is bounded and what still runs is interrupted as without grace.
      await closing.close(request.graceful ? { graceful: true, timeoutMs: 20 } : { graceful: false });
      blockers.forget();
      closedAt = Date.now();
      return null;
    }
    case 'submit': {
      const handle = await open().submit(request.kind, null, { priority: request.priority });
      return handle.id;
    }
    case 'cancel':
    case 'pause': {
      // Asked first (the control word is set in this turn), then the handler woken to see it.
      const asked = request.op === 'cancel' ? open().cancel(request.id) : open().pause(request.id);
      blockers.wake(request.id);
      // Should it hang, say where the task and its handler were (the run fails on its own).
      const watchdog = setTimeout(() => void describeStuck(request.op, request.id), 3_000);
      try {
        await asked;
      } finally {
        clearTimeout(watchdog);
      }
      return null;
    }
    case 'resume':
      await open().resume(request.id);
      return null;
    case 'setPriority':
      await open().setPriority(request.id, request.priority);
      return null;
    case 'release':
      blockers.released.add(request.id);
      blockers.wake(request.id);
      return null;
    case 'snapshot':
      return snapshot(request.ids);
  }
}

async function snapshot(ids: string[]): Promise<Snapshot> {
  const rt = open();
  // All asked in one turn: reads of finished tasks share one wait for pending writes.
  const gets = (await Promise.all(ids.map((id) => rt.get(id)))).map((task) => (task === undefined ? null : view(task)));
  const list = (await rt.list({ limit: ids.length + 100 })).map(view);
  const stats = await rt.stats();
  return { gets, list, stats };
}

async function describeStuck(op: string, id: string): Promise<void> {
  const task = await runtime?.get(id).catch(() => undefined);
  process.stderr.write(
    `model host: ${op}(${id}) unsettled after 3 s; the task: ${JSON.stringify(task && view(task))}; its handler ${blockers.state(id)}\n`,
  );
}

function describeError(error: unknown): HostError {
  if (error instanceof OffthreadError) return { offthread: true, code: error.code, message: error.message };
  const err = error as { code?: unknown; message?: unknown; stack?: unknown };
  return { offthread: false, code: typeof err?.code === 'string' ? err.code : null, message: String(err?.stack ?? err?.message ?? error) };
}

// One request at a time, in order: the model's commands are sequential.
let queue: Promise<void> = Promise.resolve();
process.on('message', (message: HostMessage) => {
  queue = queue.then(async () => {
    let reply: HostReply;
    try {
      reply = { seq: message.seq, ok: true, value: await carryOut(message.request) };
    } catch (error) {
      reply = { seq: message.seq, ok: false, error: describeError(error) };
    }
    if (message.check !== undefined) {
      const ids = reply.ok && message.request.op === 'submit' ? [...message.check, reply.value as string] : message.check;
      try {
        reply.snapshot = await snapshot(ids);
      } catch (error) {
        reply.snapshot = { failed: describeError(error) };
      }
    }
    process.send!(reply);
  });
});
process.on('disconnect', () => {
  void (async () => {
    await queue;
    await runtime?.close({ graceful: false });
    process.exit(0);
  })();
});
process.send!({ ready: process.pid });
