/** run: the one command that opens a TaskRuntime (worker threads, the handlers module). */
import cliProgress from 'cli-progress';
import { TaskRuntime, type Priority } from '../src/index.js';
import { CliError, cliError, print, type Common } from './common.js';
import { runTime, toJson } from './format.js';

/** Submits one task, shows its progress until it ends, prints its result; exit 1 if it did not complete. */
export async function run(
  handlers: string,
  type: string,
  payload: unknown,
  options: Common & { priority?: Priority; name?: string; concurrency: number },
): Promise<void> {
  let rt: TaskRuntime;
  try {
    rt = await TaskRuntime.open({ handlers, database: options.db, concurrency: options.concurrency, progressIntervalMs: 100 });
  } catch (error) {
    throw cliError(error);
  }
  const tty = process.stderr.isTTY === true && !options.json;
  const bar = tty
    ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {message}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  let id: string | undefined;
  process.once('SIGINT', () => {
    bar?.stop();
    process.stderr.write(`\ninterrupted: task ${id ?? '(not submitted)'} stays in ${options.db} and runs again on the next open of the file\n`);
    rt.close({ graceful: false }).finally(() => process.exit(130));
  });
  try {
    if (!rt.taskTypes.includes(type)) {
      throw new CliError(`offthread: ${handlers} has no task type "${type}"; it has: ${rt.taskTypes.join(', ') || '(none)'}.`, 2);
    }
    const submitOptions: { priority?: Priority; name?: string } = {};
    if (options.priority) submitOptions.priority = options.priority;
    if (options.name) submitOptions.name = options.name;
    const handle = await rt.submit(type, payload, submitOptions);
    id = handle.id;
    if (!options.json) process.stderr.write(`submitted ${type} as ${handle.id} to ${options.db}\n`);
    bar?.start(100, 0, { message: 'queued' });
    let printed = -1;
    handle.progress$.subscribe(({ progress, message }) => {
      if (bar) return bar.update(progress, { message: message ?? '' });
      if (options.json || Math.floor(progress / 10) <= printed || (progress === 0 && message === null)) return;
      printed = Math.floor(progress / 10);
      process.stderr.write(`${progress.toFixed(0).padStart(3)}% ${message ?? ''}\n`);
    });
    await handle.result().catch(() => undefined);
    bar?.stop();
    const task = (await rt.get(handle.id))!;
    if (options.json) print(toJson(task, 2));
    else if (task.status === 'completed') print(`completed in ${runTime(task)} (attempt ${task.attempts})\nresult: ${toJson(task.result) ?? 'undefined'}`);
    else process.stderr.write(`${task.status}: ${task.error?.code ?? ''}: ${task.error?.message ?? ''}\n`);
    if (task.status !== 'completed') process.exitCode = 1;
  } finally {
    bar?.stop();
    await rt.close();
  }
}
