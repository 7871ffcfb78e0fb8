/**
 * offthread demo: what `npm start` runs.
 *
 * Opens a runtime on a SQLite file and submits 20 CPU-heavy tasks of three types (primes
 * counted in ranges, SHA-256 hash chains, Mandelbrot tiles; see examples/demo-handlers.ts)
 * and mixed priorities. It draws a progress bar per running task and one for the total
 * (plain lines with percentages when stdout is not a terminal), and while they run it
 * raises the priority of a queued task, pauses a running one and resumes it, and cancels
 * another. It ends with a table of every task: status, attempts, run time.
 *
 * Press Ctrl-C while it runs: the unfinished tasks stay in the file, with the work they
 * saved (ctx.saveCheckpoint). The next run finds them, says so, and finishes them.
 *
 * With `--db postgres://...` the tasks go to a queue on PostgreSQL instead: run the demo
 * in two terminals with the same URL and both run the demo's tasks, each claiming what its
 * threads have room for; every terminal shows every task, wherever it runs.
 *
 * While it runs it serves the dashboard (rt.dashboard()) and prints its URL.
 *
 *   node dist/examples/demo.js [--db PATH|URL] [--concurrency N] [--port N]
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { filter, firstValueFrom } from 'rxjs';
import { OffthreadError, TaskRuntime, type Priority, type SubmitItemOf, type Task, type TaskEvent, type TaskStatus } from 'offthread';
// Types only (the worker threads import the module): submits are checked against its handlers.
import type * as tasks from './demo-handlers.js';

/** The runtime, typed from the handlers module: type names, payloads and results. */
type Runtime = TaskRuntime<typeof tasks>;

const USAGE = `Usage: npm start -- [--db PATH|URL] [--concurrency N] [--port N]

  --db PATH|URL      SQLite file the tasks are kept in (default ./offthread-demo.db), or a
                     postgres:// URL: a queue several demos share (run one per terminal)
  --concurrency N    worker threads (default: 2 to 4, by the number of CPUs)
  --port N           port of the dashboard the demo serves on 127.0.0.1 (default: any free one)
`;

let parsed;
try {
  parsed = parseArgs({
    options: {
      db: { type: 'string', default: './offthread-demo.db' },
      concurrency: { type: 'string', default: String(Math.min(4, Math.max(2, availableParallelism()))) },
      port: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const args = parsed.values;
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const concurrency = Number(args.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write(`--concurrency expects a whole number >= 1, got "${args.concurrency}"\n\n${USAGE}`);
  process.exit(2);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port expects a whole number from 0 to 65535, got "${args.port}"\n\n${USAGE}`);
  process.exit(2);
}

const FINISHED: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
const LABEL_WIDTH = 26;
const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)}s`;

/** What the display knows of a task. */
interface Shown {
  label: string;
  progress: number;
  status: TaskStatus;
}

/**
 * Where progress goes: bars in a terminal, plain lines elsewhere (a CI log, `| cat`). Both
 * keep the same per-task state; only the drawing differs.
 */
abstract class Display {
  readonly tasks = new Map<string, Shown>();

  track(id: string, label: string, status: TaskStatus = 'queued', progress = 0): void {
    this.tasks.set(id, { label, status, progress });
  }

  label(id: string): string {
    return this.tasks.get(id)?.label ?? id.slice(0, 8);
  }

  /** 0-100 over every task: a finished one counts as done, whatever its end. */
  total(): number {
    if (this.tasks.size === 0) return 0;
    let sum = 0;
    for (const task of this.tasks.values()) sum += FINISHED.includes(task.status) ? 100 : task.progress;
    return sum / this.tasks.size;
  }

  finishedCount(): number {
    return [...this.tasks.values()].filter((t) => FINISHED.includes(t.status)).length;
  }

  onEvent(event: TaskEvent): void {
    const task = this.tasks.get(event.taskId);
    if (task === undefined) return;
    switch (event.type) {
      case 'started':
        task.status = 'running';
        this.started(event.taskId, task, event.attempt);
        break;
      case 'progress':
        task.progress = event.progress;
        if (task.status === 'queued') task.status = 'running';
        this.progress(event.taskId, task, event.message);
        break;
      case 'paused':
        task.status = 'paused';
        this.progress(event.taskId, task, 'paused');
        break;
      case 'resumed':
        task.status = 'running';
        this.progress(event.taskId, task, 'resumed');
        break;
      case 'retrying':
        this.log(`retrying  ${task.label} after ${event.error.code}`);
        break;
      case 'completed':
      case 'failed':
      case 'cancelled':
        task.status = event.type;
        if (event.type === 'completed') task.progress = 100;
        this.finished(event.taskId, task, event.type === 'completed' ? JSON.stringify(event.result) : event.error.code);
        break;
      default:
        return;
    }
    this.totalChanged();
  }

  abstract log(message: string): void;
  abstract stop(): void;
  protected abstract started(id: string, task: Shown, attempt: number): void;
  protected abstract progress(id: string, task: Shown, message: string | null): void;
  protected abstract finished(id: string, task: Shown, detail: string): void;
  protected abstract totalChanged(): void;
}

/** A terminal: a bar per running task and one for the total, drawn by cli-progress. */
class BarsDisplay extends Display {
  readonly #multibar = new cliProgress.MultiBar(
    {
      format: '{label} {bar} {percentage}% | {message}',
      barsize: 28,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 10,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  readonly #total = this.#multibar.create(100, 0, { label: 'total'.padEnd(LABEL_WIDTH), message: '' });
  readonly #bars = new Map<string, cliProgress.SingleBar>();

  log(message: string): void {
    this.#multibar.log(`[${elapsed().padStart(6)}] ${message}\n`);
  }

  stop(): void {
    this.#multibar.stop();
  }

  protected started(id: string, task: Shown, attempt: number): void {
    const message = attempt > 1 ? `attempt ${attempt}` : 'started';
    const bar = this.#bars.get(id);
    if (bar !== undefined) bar.update(task.progress, { message });
    else this.#bars.set(id, this.#multibar.create(100, task.progress, { label: task.label.padEnd(LABEL_WIDTH), message }));
  }

  protected progress(id: string, task: Shown, message: string | null): void {
    const bar = this.#bars.get(id);
    // A task re-queued by the open of a continued run may have started before it was tracked.
    if (bar === undefined) this.started(id, task, 1);
    this.#bars.get(id)!.update(task.progress, message === null ? {} : { message });
  }

  protected finished(id: string, task: Shown, detail: string): void {
    const bar = this.#bars.get(id);
    if (bar !== undefined) {
      this.#multibar.remove(bar);
      this.#bars.delete(id);
    }
    this.log(`${task.status.padEnd(9)} ${task.label.padEnd(LABEL_WIDTH)} ${detail}`);
  }

  protected totalChanged(): void {
    this.#total.update(Math.floor(this.total() * 10) / 10, { message: `${this.finishedCount()} of ${this.tasks.size} tasks finished` });
  }
}

/** Not a terminal: plain lines, a task's every 25% and the total's every 10%. No ANSI. */
class LinesDisplay extends Display {
  readonly #printed = new Map<string, number>();
  #totalPrinted = -1;

  log(message: string): void {
    console.log(`[${elapsed().padStart(6)}] ${message}`);
  }

  stop(): void {}

  protected started(id: string, task: Shown, attempt: number): void {
    this.#printed.set(id, Math.floor(task.progress / 25));
    this.log(`started   ${task.label.padEnd(LABEL_WIDTH)} ${task.progress.toFixed(0).padStart(3)}%${attempt > 1 ? `, attempt ${attempt}` : ''}`);
  }

  protected progress(id: string, task: Shown, message: string | null): void {
    const step = Math.floor(task.progress / 25);
    if (message !== 'paused' && message !== 'resumed' && step <= (this.#printed.get(id) ?? -1)) return;
    this.#printed.set(id, step);
    const what = message === 'paused' || message === 'resumed' ? message : 'running';
    this.log(`${what.padEnd(9)} ${task.label.padEnd(LABEL_WIDTH)} ${task.progress.toFixed(0).padStart(3)}%  ${message ?? ''}`);
  }

  protected finished(_id: string, task: Shown, detail: string): void {
    this.log(`${task.status.padEnd(9)} ${task.label.padEnd(LABEL_WIDTH)} ${detail}`);
  }

  protected totalChanged(): void {
    const step = Math.floor(this.total() / 10);
    if (step <= this.#totalPrinted) return;
    this.#totalPrinted = step;
    this.log(`total     ${this.total().toFixed(0).padStart(3)}%  ${this.finishedCount()} of ${this.tasks.size} tasks finished`);
  }
}

const display: Display = process.stdout.isTTY === true ? new BarsDisplay() : new LinesDisplay();

/** Resolves with the task once `test` holds for it, or undefined if it finished first. */
function until(rt: Runtime, id: string, test: (task: Task) => boolean): Promise<Task | undefined> {
  return firstValueFrom(rt.observe(id).pipe(filter(test)), { defaultValue: undefined });
}

/** The one error a pause, resume, cancel or setPriority racing with the task's own moves gives. */
function tooLate(error: unknown): boolean {
  return error instanceof OffthreadError && error.code === 'ERR_INVALID_TRANSITION';
}

const rt = await TaskRuntime.open<typeof tasks>({
  handlers: new URL('./demo-handlers.js', import.meta.url),
  database: args.db,
  concurrency,
  progressIntervalMs: 100,
});
// The same tasks in a browser while the demo runs (127.0.0.1 only; closed with the runtime).
const dashboard = await rt.dashboard({ port });
console.log(`dashboard: ${dashboard.url} (open it in a browser while the demo runs)`);

// Ctrl-C: stop at once, without waiting for the running tasks. Their rows still say
// `running`, and their saved checkpoints are in the file: the next run re-queues them.
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  display.stop();
  console.log(`\nCtrl-C: stopping; the unfinished tasks stay in ${args.db}. Run \`npm start\` again to finish them.`);
  rt.close({ graceful: false }).then(
    () => process.exit(130),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});

try {
  rt.events$.subscribe((event) => display.onEvent(event));
  const unfinished = await rt.list({ status: ['queued', 'running', 'paused'], limit: 10_000 });
  if (unfinished.length > 0) await continueInterrupted(rt, unfinished);
  else await demo(rt);
  await allDone(rt);
  display.stop();
  await summary(rt);
  await rt.close();
  console.log(`Done in ${elapsed()}. The tasks stay in ${args.db}: try \`npx offthread ls --db ${args.db}\`.`);
} catch (error) {
  if (!interrupted) {
    display.stop();
    throw error;
  }
  // The runtime was closed under us by Ctrl-C; the SIGINT handler exits.
}

/**
 * Waits for the demo's tasks to be done: on a SQLite file, the ones this runtime holds (all
 * of them); on a shared queue, every task of the queue, wherever it runs.
 */
async function allDone(rt: Runtime): Promise<void> {
  if (!/^postgres(ql)?:/i.test(args.db)) return rt.whenIdle();
  await firstValueFrom(rt.watch({ status: ['queued', 'running'], limit: 1 }).pipe(filter((tasks) => tasks.length === 0)));
}

/** The file holds unfinished tasks of an interrupted run: finish them (not a new demo). */
async function continueInterrupted(rt: Runtime, unfinished: Task[]): Promise<void> {
  for (const task of (await rt.list({ limit: 10_000 })).reverse()) {
    display.track(task.id, task.name ?? task.type, task.status, task.progress);
  }
  const { queued, running, paused } = await rt.stats();
  display.log(
    `${args.db} holds ${unfinished.length} unfinished task(s) of an interrupted run ` +
      `(${queued} queued, ${running} running, ${paused} paused): continuing them from their saved checkpoints. ` +
      'Run again afterwards for a fresh demo.',
  );
  for (const task of unfinished.filter((t) => t.status === 'paused')) {
    await rt.resume(task.id).catch((error: unknown) => {
      if (!tooLate(error)) throw error;
    });
  }
}

async function demo(rt: Runtime): Promise<void> {
  // Finished tasks of an earlier demo are of no more use.
  const removed = await rt.cleanup({ olderThanMs: 0 });
  display.log(
    `database ${args.db}, ${concurrency} worker threads, task types ${rt.taskTypes.join(', ')}` +
      (removed > 0 ? `; removed ${removed} finished task(s) of an earlier run` : ''),
  );

  // Each item is checked against its type's handler: a payload that does not fit does not compile.
  const items: (SubmitItemOf<typeof tasks> & { options: { name: string; priority: Priority } })[] = [];
  const add = (item: SubmitItemOf<typeof tasks>, name: string, priority: Priority) => items.push({ ...item, options: { name, priority } });
  const M = 1_000_000;
  // Primes: the higher the range, the slower each number.
  const primes = (from: number, to: number) => ({ type: 'primes', payload: { from, to } }) as const;
  add(primes(0, 25 * M), 'primes 0-25M', 'high');
  add(primes(25 * M, 40 * M), 'primes 25M-40M', 'normal');
  add(primes(40 * M, 54 * M), 'primes 40M-54M', 'normal');
  add(primes(54 * M, 66 * M), 'primes 54M-66M', 'low');
  add(primes(66 * M, 78 * M), 'primes 66M-78M', 'low');
  add(primes(78 * M, 90 * M), 'primes 78M-90M', 'normal');
  add(primes(90 * M, 100 * M), 'primes 90M-100M', 'low');
  // Hash chains.
  const chain = (seed: string, rounds: number) => ({ type: 'hashChain', payload: { seed, rounds } }) as const;
  add(chain('offthread', 4_000_000), 'sha256 x 4M', 'high');
  add(chain('durable', 3_500_000), 'sha256 x 3.5M', 'normal');
  add(chain('cancel me', 5_000_000), 'sha256 x 5M (cancelled)', 'normal');
  add(chain('observable', 3_500_000), 'sha256 x 3.5M #2', 'low');
  add(chain('prioritized', 3_000_000), 'sha256 x 3M', 'normal');
  add(chain('threads', 3_000_000), 'sha256 x 3M #2', 'low');
  // Mandelbrot tiles: the ones on the set's edge are the slow ones.
  const tile = (x: number, y: number) => ({ type: 'mandelbrot', payload: { x, y, span: 0.5, size: 800, maxIterations: 4000 } }) as const;
  add(tile(-2.0, -0.5), 'mandelbrot (-2.0,-0.5)', 'normal');
  add(tile(-1.5, -0.5), 'mandelbrot (-1.5,-0.5)', 'high');
  add(tile(-1.0, -0.5), 'mandelbrot (-1.0,-0.5) paused', 'normal');
  add(tile(-0.5, -0.5), 'mandelbrot (-0.5,-0.5)', 'low');
  add(tile(0.0, -0.5), 'mandelbrot (0.0,-0.5)', 'normal');
  add(tile(-1.0, 0.0), 'mandelbrot (-1.0,0.0)', 'low');
  add(tile(-0.5, 0.0), 'mandelbrot (-0.5,0.0) raised', 'low');

  // `created` events come synchronously inside submitMany, in item order, before it resolves
  // (and before any task starts): name the tasks as they are created.
  const names = items.map((item) => item.options.name);
  const naming = rt.events$.subscribe((event) => {
    if (event.type === 'created') display.track(event.taskId, names.shift() ?? event.taskType);
  });
  const handles = await rt.submitMany(items);
  naming.unsubscribe();
  const byName = (suffix: string) => handles[items.findIndex((item) => item.options.name.endsWith(suffix))]!.id;
  display.log(`submitted ${handles.length} tasks in one transaction; high priority first, then normal, then low`);

  await Promise.all([raise(rt, byName('raised')), pauseAndResume(rt, byName('paused')), cancel(rt, byName('(cancelled)'))]);
}

/** Once the first task has completed, moves the last low-priority task to the front. */
async function raise(rt: Runtime, id: string): Promise<void> {
  await firstValueFrom(rt.events$.pipe(filter((event) => event.type === 'completed')));
  try {
    await rt.setPriority(id, 'high');
    display.log(`setPriority ${display.label(id)}: low -> high, it runs before every queued normal and low task`);
  } catch (error) {
    if (!tooLate(error)) throw error;
    display.log(`setPriority ${display.label(id)} came too late: it has started`);
  }
}

/** Pauses a task once it is 30% done, keeps it paused for 4 s, resumes it. */
async function pauseAndResume(rt: Runtime, id: string): Promise<void> {
  if ((await until(rt, id, (t) => t.status === 'running' && t.progress >= 30)) === undefined) return;
  try {
    display.log(`pause     ${display.label(id)} (its thread stops at the next checkpoint)`);
    await rt.pause(id);
    // On a shared queue another demo may run it: the pause was sent there, and is seen here.
    await until(rt, id, (t) => t.status === 'paused');
    display.log(`paused    ${display.label(id)}: its thread sleeps, no CPU; resuming in 4 s`);
    await sleep(4000);
    await rt.resume(id);
    display.log(`resumed   ${display.label(id)}: it goes on from where it stopped`);
  } catch (error) {
    if (!tooLate(error)) throw error;
    display.log(`pause/resume of ${display.label(id)} came too late: it had finished`);
  }
}

/** Cancels a running task once it is 40% done. */
async function cancel(rt: Runtime, id: string): Promise<void> {
  if ((await until(rt, id, (t) => t.status === 'running' && t.progress >= 40)) === undefined) return;
  const asked = performance.now();
  try {
    display.log(`cancel    ${display.label(id)} at 40%`);
    await rt.cancel(id);
    display.log(`cancel() resolved after ${(performance.now() - asked).toFixed(0)} ms: the handler stopped at its next checkpoint`);
  } catch (error) {
    if (!tooLate(error)) throw error;
    display.log(`cancel of ${display.label(id)} came too late: it had finished`);
  }
}

async function summary(rt: Runtime): Promise<void> {
  const tasks = (await rt.list({ limit: 10_000 })).reverse();
  const rows = tasks.map((task) => [
    task.name ?? task.type,
    task.type,
    task.priority,
    task.status,
    String(task.attempts),
    task.startedAt !== null && task.completedAt !== null ? `${((task.completedAt - task.startedAt) / 1000).toFixed(2)} s` : '-',
  ]);
  const header = ['task', 'type', 'priority', 'status', 'attempts', 'run time'];
  const right = new Set([4, 5]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const stats = await rt.stats();
  console.log('');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log('');
  console.log(`${stats.completed} completed, ${stats.failed} failed, ${stats.cancelled} cancelled of ${stats.total}`);
}
