/**
 * Shared test plumbing: temp databases, runtimes that are always closed, gates the tests
 * open to let a handler go on, and waiting for events (never for time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import { TaskRuntime, type RuntimeOptions, type TaskEvent, type TaskHandle } from 'offthread';

export const HANDLERS = new URL('./fixtures/handlers.js', import.meta.url);

const open = new Set<TaskRuntime>();
const dirs: string[] = [];

/** A runtime on the test handlers, closed after the test if the test did not close it. */
export async function openRuntime(options: Partial<RuntimeOptions> = {}): Promise<TaskRuntime> {
  const runtime = await TaskRuntime.open({ handlers: HANDLERS, ...options });
  open.add(runtime);
  const close = runtime.close.bind(runtime);
  runtime.close = (closeOptions) => {
    open.delete(runtime);
    return close(closeOptions);
  };
  return runtime;
}

/** A path for a database file in a fresh temp folder, removed after the test. */
export function tempDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-test-'));
  dirs.push(dir);
  return join(dir, 'tasks.db');
}

/** Threads and ports alive now (a worker thread holds ports; timers are vitest's too). */
function threadResources(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
}

let resourcesBefore = 0;
beforeEach(() => {
  resourcesBefore = threadResources();
});

afterEach(async () => {
  const leaked = [...open];
  for (const runtime of leaked) await runtime.close({ graceful: false });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  if (leaked.length > 0) throw new Error(`${leaked.length} runtime(s) left open by the test`);
  // A terminated thread's ports may be released by Node some turns of the event loop after its
  // exit (seen once in a loaded full run: 3 ports just after a close that had awaited every
  // thread). A leak stays: a port still open after these turns fails the test.
  let after = threadResources();
  for (let turn = 0; after > resourcesBefore && turn < 20; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    after = threadResources();
  }
  if (after > resourcesBefore) throw new Error(`the test left ${after - resourcesBefore} thread port(s) open after close`);
});

/** Named gates for the `gated` fixture: `services.gate(name)` resolves once the test opens it. */
export class Gates {
  private readonly gates = new Map<string, { promise: Promise<void>; open(): void; reached: Promise<void>; reach(): void }>();

  readonly services = {
    gate: (name: string): Promise<void> => {
      const gate = this.get(name);
      gate.reach();
      return gate.promise;
    },
  };

  open(name: string): void {
    this.get(name).open();
  }

  /** Resolves once a handler has come to the gate (it called the service): its task has started. */
  reached(name: string): Promise<void> {
    return this.get(name).reached;
  }

  private get(name: string) {
    let gate = this.gates.get(name);
    if (gate === undefined) {
      let open!: () => void;
      let reach!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      const reached = new Promise<void>((resolve) => (reach = resolve));
      gate = { promise, open, reached, reach };
      this.gates.set(name, gate);
    }
    return gate;
  }
}

/** The first event of a type (and task) from now on. */
export function nextEvent<T extends TaskEvent['type']>(
  events$: Observable<TaskEvent>,
  type: T,
  taskId?: string,
): Promise<Extract<TaskEvent, { type: T }>> {
  return firstValueFrom(
    events$.pipe(
      filter((event): event is Extract<TaskEvent, { type: T }> => event.type === type && (taskId === undefined || event.taskId === taskId)),
    ),
  );
}

/** Collects every event while the test runs. */
export function record(events$: Observable<TaskEvent>): TaskEvent[] {
  const events: TaskEvent[] = [];
  events$.subscribe((event) => events.push(event));
  return events;
}

/**
 * Submits a `gated` task and resolves once its thread waits at the gate (the fixture reports
 * progress 10 first). With concurrency 1, everything submitted after it stays queued.
 */
export async function submitAtGate(runtime: TaskRuntime, payload: { gate: string; result?: unknown }): Promise<TaskHandle> {
  const waiting = nextEvent(runtime.events$, 'progress');
  const handle = await runtime.submit('gated', payload);
  await waiting;
  return handle;
}
