/**
 * A host of the kill soak: `node kill-host.js <database> <batch> <spins>`. It opens the
 * runtime (which re-queues what an earlier, killed host left unfinished), submits `batch`
 * new `work` tasks and runs everything to idle. It appends the ids of the submitted tasks
 * to SOAK_ACKS only once submitMany has resolved (they are acknowledged), and prints one
 * line per step, so the soak can kill it at a random one of them:
 *   acked <n>        the batch is acknowledged
 *   running <id>     a handler is under way (its first progress)
 *   done <id>        a completion is committed
 *   idle             nothing is left to run
 */
import { appendFileSync } from 'node:fs';
import { TaskRuntime } from 'offthread';
import { builtHandlers } from './script-path.js';

const [database, batch, spins] = process.argv.slice(2);
const say = (line: string) => process.stdout.write(`${line}\n`);

const rt = await TaskRuntime.open({ handlers: builtHandlers(), database: database!, concurrency: 2 });
const reported = new Set<string>();
rt.events$.subscribe((event) => {
  if (event.type === 'progress' && !reported.has(event.taskId)) {
    reported.add(event.taskId);
    say(`running ${event.taskId}`);
  }
  if (event.type !== 'completed') return;
  // A read commits pending writes first: once get() answers, the completion is durable.
  rt.get(event.taskId).then(
    (task) => task?.status === 'completed' && say(`done ${task.id}`),
    () => undefined, // closed first: nothing to report
  );
});
const handles = await rt.submitMany(Array.from({ length: Number(batch) }, () => ({ type: 'work', payload: { spins: Number(spins) } })));
if (handles.length > 0) appendFileSync(process.env.SOAK_ACKS!, handles.map((handle) => `${handle.id}\n`).join(''));
say(`acked ${handles.length}`);
await rt.whenIdle();
await rt.list({ limit: 1 }); // commits the last completions
say('idle');
await rt.close();
