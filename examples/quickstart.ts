/**
 * offthread quick start: what `npm start` runs.
 *
 * Opens a runtime on a SQLite file, submits a handful of CPU-heavy tasks of mixed types and
 * priorities (examples/quickstart-handlers.ts), prints their progress as it arrives, pauses
 * one running task and resumes it, cancels another, prints each result and a summary.
 *
 * Interrupt it (Ctrl-C) and run it again: the unfinished tasks are picked up from the file.
 *
 *   node dist/examples/quickstart.js [--db PATH] [--concurrency N]
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { filter, firstValueFrom } from 'rxjs';
import { OffthreadError, TaskRuntime, type Priority, type SubmitItemOf, type Task, type TaskEvent, type TaskHandle } from 'offthread';
// Types only (the worker threads import the module): submits are checked against its handlers.
import type * as tasks from './quickstart-handlers.js';

/** The runtime, typed from the handlers module: type names, payloads and results. */
type Runtime = TaskRuntime<typeof tasks>;

const USAGE = `Usage: npm start -- [--db PATH] [--concurrency N]

  --db PATH          SQLite file the tasks are kept in (default ./offthread-quickstart.db)
  --concurrency N    worker threads (default: 2 to 4, by the number of CPUs)
`;

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: './offthread-quickstart.db' },
    concurrency: { type: 'string', default: String(Math.min(4, Math.max(2, availableParallelism()))) },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const started = performance.now();
/** Plain lines with the time since start: readable in a terminal and in a CI log alike. */
function log(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(2).padStart(6);
  console.log(`[${seconds}s] ${message}`);
}

/** id -> what to call a task in the output. */
const labels = new Map<string, string>();
function label(id: string): string {
  return (labels.get(id) ?? id.slice(0, 8)).padEnd(24);
}
/** Names of tasks being submitted, in submit order, until their `created` event names them. */
const naming: string[] = [];
function remember(task: Pick<Task, 'id' | 'name' | 'type' | 'priority'>): void {
  labels.set(task.id, `${task.name ?? task.type} (${task.priority})`);
}

function describeEvent(event: TaskEvent): string | undefined {
  switch (event.type) {
    case 'started':
      return `started    ${label(event.taskId)} attempt ${event.attempt}`;
    case 'progress':
      return `  ${event.progress.toFixed(0).padStart(3)}%     ${label(event.taskId)} ${event.message ?? ''}`;
    case 'paused':
    case 'resumed':
      return `${event.type.padEnd(10)} ${label(event.taskId)}`;
    case 'completed':
      return `completed  ${label(event.taskId)} -> ${JSON.stringify(event.result)}`;
    case 'failed':
    case 'cancelled':
      return `${event.type.padEnd(10)} ${label(event.taskId)} ${event.error.code}`;
    default:
      return undefined; // 'created': the submit lines say it already
  }
}

/** Resolves with the task once `test` holds for it, or undefined if it finished first. */
function until(rt: Runtime, id: string, test: (task: Task) => boolean): Promise<Task | undefined> {
  return firstValueFrom(rt.observe(id).pipe(filter(test)), { defaultValue: undefined });
}

/** The one error code that a pause, resume or cancel racing with a task's end gives. */
function endedFirst(error: unknown): boolean {
  return error instanceof OffthreadError && error.code === 'ERR_INVALID_TRANSITION';
}

const rt = await TaskRuntime.open<typeof tasks>({
  handlers: new URL('./quickstart-handlers.js', import.meta.url),
  database: args.db,
  concurrency: Number(args.concurrency),
  // One progress event per task per 500 ms at most: enough for a log.
  progressIntervalMs: 500,
});

// Ctrl-C: stop now without waiting for the running tasks. Their rows still say `running`,
// so the next open re-queues them (with the interrupted attempt counted).
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  log('SIGINT: closing without grace; run again with the same --db to finish the work');
  rt.close({ graceful: false }).then(
    () => process.exit(130),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});

try {
  await main(rt);
} catch (error) {
  if (!interrupted) throw error;
  // The runtime was closed under us by Ctrl-C; the SIGINT handler exits.
}

async function main(rt: Runtime): Promise<void> {
  log(`database ${args.db}, ${args.concurrency} worker threads, task types: ${rt.taskTypes.join(', ')}`);
  rt.events$.subscribe((event) => {
    // `created` events come synchronously inside submit/submitMany, in submit order, before
    // they resolve: name the tasks now, so a task that starts at once is printed by name.
    if (event.type === 'created') {
      const name = naming.shift();
      if (name !== undefined) labels.set(event.taskId, `${name} (${event.priority})`);
    }
    const line = describeEvent(event);
    if (line !== undefined) log(line);
  });

  // Finished tasks of earlier runs are of no more use to the demo.
  const removed = await rt.cleanup({ olderThanMs: 0 });
  if (removed > 0) log(`removed ${removed} finished task(s) left by earlier runs`);

  if (!(await recover(rt))) await demo(rt);
  await summary(rt);
  await rt.close();
  log('closed; bye');
}

/**
 * Unfinished tasks of an interrupted run were re-queued when the runtime opened (those
 * that were running count the interrupted attempt; some may be running again already);
 * paused ones stay paused until resumed. Finishes them; false if there were none.
 */
async function recover(rt: Runtime): Promise<boolean> {
  const unfinished = await rt.list({ status: ['queued', 'running', 'paused'] });
  if (unfinished.length === 0) {
    log('no unfinished tasks in the database: a fresh start');
    return false;
  }
  unfinished.forEach(remember);
  const { queued, running, paused } = await rt.stats();
  log(
    `recovered ${unfinished.length} unfinished task(s) from an interrupted run ` +
      `(now ${queued} queued, ${running} running, ${paused} paused); finishing them`,
  );
  for (const task of unfinished.filter((t) => t.status === 'paused')) {
    await rt.resume(task.id).catch((error: unknown) => {
      if (!endedFirst(error)) throw error;
    });
  }
  await rt.whenIdle();
  log('recovered work done; run again for the full demo');
  return true;
}

async function demo(rt: Runtime): Promise<void> {
  // Each item is checked against its type's handler: a payload that does not fit does not compile.
  const spec = (item: SubmitItemOf<typeof tasks>, name: string, priority: Priority) => ({ ...item, options: { name, priority } });
  const items = [
    spec({ type: 'hashChain', payload: { seed: 'offthread', rounds: 1_000_000 } }, 'sha256 x 1M', 'low'),
    spec({ type: 'primes', payload: { from: 12_000_000, to: 17_000_000 } }, 'primes 12M-17M', 'low'),
    spec({ type: 'primes', payload: { from: 0, to: 10_000_000 } }, 'primes below 10M', 'normal'),
    spec({ type: 'primes', payload: { from: 10_000_000, to: 12_000_000 } }, 'primes 10M-12M', 'normal'),
    spec({ type: 'estimatePi', payload: { samples: 200_000_000, seed: 3 } }, 'pi from 200M points', 'normal'),
    spec({ type: 'estimatePi', payload: { samples: 250_000_000, seed: 7 } }, 'pi from 250M points', 'high'),
    spec({ type: 'hashChain', payload: { seed: 'durable', rounds: 900_000 } }, 'sha256 x 900k', 'high'),
  ];
  // One transaction for all seven. They are dispatched by priority, then in submit order.
  naming.push(...items.map((item) => item.options.name));
  const handles = await rt.submitMany(items);
  log(`submitted ${handles.length} tasks in one transaction; the high ones started first`);
  const all: TaskHandle[] = [...handles];
  const byName = (name: string) => handles[items.findIndex((item) => item.options.name === name)]!;

  // Pause a running task once it is a quarter done; its thread stops at its next checkpoint.
  const pauseTarget = byName('pi from 250M points');
  if (await until(rt, pauseTarget.id, (t) => t.status === 'running' && t.progress >= 25)) {
    try {
      await rt.pause(pauseTarget.id);
      const { running, paused } = await rt.stats();
      log(`pause() resolved: the thread sleeps at a checkpoint (stats: ${running} running, ${paused} paused)`);
      await sleep(1000);
      await rt.resume(pauseTarget.id);
      log('resume() resolved: it goes on from where it stopped');
    } catch (error) {
      if (!endedFirst(error)) throw error;
      log(`pause/resume came too late: ${(error as Error).message}`);
    }
  }

  // A late, urgent task goes ahead of every queued normal and low one.
  naming.push('urgent sha256 x 500k');
  const urgent = await rt.submit('hashChain', { seed: 'urgent', rounds: 500_000 }, { name: 'urgent sha256 x 500k', priority: 'high' });
  log(`submitted  ${label(urgent.id)} it goes ahead of the queued normal and low tasks`);
  all.push(urgent);

  // Cancel a running task: its next checkpoint throws, and cancel() resolves once it ended.
  const cancelTarget = byName('primes 10M-12M');
  if (await until(rt, cancelTarget.id, (t) => t.status === 'running' && t.progress >= 10)) {
    const asked = performance.now();
    try {
      await rt.cancel(cancelTarget.id);
      log(`cancel() resolved after ${(performance.now() - asked).toFixed(1)} ms`);
    } catch (error) {
      if (!endedFirst(error)) throw error;
      log(`cancel came too late: ${(error as Error).message}`);
    }
  }

  // Every result(): the cancelled task's rejects with ERR_TASK_CANCELLED.
  const outcomes = await Promise.allSettled(all.map((handle) => handle.result()));
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.status === 'rejected') {
      const code = outcome.reason instanceof OffthreadError ? outcome.reason.code : String(outcome.reason);
      log(`result()   ${label(all[i]!.id)} rejected with ${code}`);
    }
  }
}

async function summary(rt: Runtime): Promise<void> {
  const stats = await rt.stats();
  log(
    `stats: total ${stats.total}, completed ${stats.completed}, failed ${stats.failed}, ` +
      `cancelled ${stats.cancelled}, queued ${stats.queued}, running ${stats.running}, paused ${stats.paused}`,
  );
  console.log('');
  console.log(`${'task'.padEnd(32)} ${'status'.padEnd(10)} attempts  run time`);
  for (const task of (await rt.list()).reverse()) {
    const ran =
      task.startedAt !== null && task.completedAt !== null ? `${((task.completedAt - task.startedAt) / 1000).toFixed(2)} s` : '-';
    console.log(`${label(task.id).padEnd(32)} ${task.status.padEnd(10)} ${String(task.attempts).padStart(8)}  ${ran.padStart(8)}`);
  }
  console.log('');
}
