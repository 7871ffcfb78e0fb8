#!/usr/bin/env node
/**
 * offthread: the command-line tool. Inspect a task database (ls, show, stats, watch: read
 * only, without the owner lock, so they work while a runtime has the file open), remove old
 * finished tasks (cleanup: takes the lock, starts no thread), or run one task from a
 * handlers module (run). Every command but run goes through the public inspector
 * (openInspector); run opens a TaskRuntime.
 *
 * Exit codes: 0 success, 1 failure (a missing or unreadable database, a task that failed,
 * a locked file...), 2 bad usage (an unknown command or option, a bad value).
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { PRIORITIES, TASK_STATUSES } from '../src/index.js';
import { CliError, DEFAULT_DB, FINISHED, duration, json, listOf, positiveNumber, wholeNumber, withCommon } from './common.js';
import { dashboard } from './dashboard.js';
import { cleanup, ls, show, stats } from './inspect-commands.js';
import { run } from './run.js';
import { watch } from './watch.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const program = new Command('offthread')
  .description('Inspect and drive offthread task databases (SQLite files written by TaskRuntime).')
  .version(version())
  .exitOverride()
  .showHelpAfterError('(run `offthread help` or `offthread help <command>` for usage)')
  .addHelpText(
    'after',
    `\nEvery command takes --db PATH (default ${DEFAULT_DB}), or the postgres:// URL of a queue (ls, show, stats,\n` +
      'watch and cleanup). ls, show, stats and watch open it read-only:\n' +
      'they never create it and work while a runtime has it open. cleanup never creates it either,\n' +
      'and starts no worker thread. Exit codes: 0 success, 1 failure, 2 bad usage.',
  );

withCommon(
  program
    .command('ls')
    .description('list tasks, newest first')
    .option('--status <list>', `only these statuses, comma-separated (${TASK_STATUSES.join(', ')})`, listOf('status', TASK_STATUSES))
    .option('--priority <list>', `only these priorities, comma-separated (${PRIORITIES.join(', ')})`, listOf('priority', PRIORITIES))
    .option('--type <list>', 'only these task types, comma-separated', (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean))
    .option('--limit <n>', 'at most this many tasks', wholeNumber, 50),
).action(ls);

withCommon(program.command('show').description('everything about one task').argument('<id>', 'task id (or a unique start of it, 4 characters or more)')).action(show);

withCommon(program.command('stats').description('how many tasks there are in each status')).action(stats);

withCommon(
  program
    .command('cleanup')
    .description('remove finished tasks that finished at least this long ago (takes the owner lock; starts no thread, leaves unfinished tasks alone)')
    .requiredOption('--older-than <duration>', 'e.g. 7d, 12h, 30m, 45s, 500ms (0: every finished task)', duration)
    .option('--status <list>', 'only these finished statuses, comma-separated (completed, failed, cancelled)', listOf('finished status', FINISHED))
    .option('--handlers <module>', 'accepted and ignored: cleanup starts no runtime and needs no handlers module'),
).action(cleanup);

withCommon(
  program
    .command('watch')
    .description('a live view of a database that another process is running (Ctrl-C to quit)')
    .option('--limit <n>', 'show at most this many unfinished and this many finished tasks', positiveNumber, 20),
).action(watch);

program
  .command('dashboard')
  .description('serve the web dashboard of a database until Ctrl-C (read-only for a SQLite file; with actions for a postgres:// queue)')
  .option('--db <path>', 'SQLite file of the tasks, or the postgres:// URL of a queue', DEFAULT_DB)
  .option('--port <n>', 'TCP port (0: any free one)', wholeNumber, 0)
  .option('--host <host>', 'address to listen on; anything but loopback requires --token', '127.0.0.1')
  .option('--token <token>', 'a secret every request must carry (?token= once, or Authorization: Bearer)')
  .option('--queue <name>', 'the queue, in a PostgreSQL database')
  .option('--handlers <module>', 'a handlers module, to retry failed tasks of its types (PostgreSQL only)')
  .action(dashboard);

withCommon(
  program
    .command('run')
    .description('submit one task and show its progress until it ends (exit 1 if it fails or is cancelled)')
    .argument('<handlers>', 'the handlers module (a .js file path or a file: URL)')
    .argument('<type>', 'the task type: an export of the handlers module made with defineTask')
    .addArgument(new Argument('[payload-json]', 'the payload, as JSON').argParser(json))
    .addOption(new Option('--priority <priority>', 'the task priority').choices(PRIORITIES))
    .option('--name <name>', 'a label for the task')
    .option('--concurrency <n>', 'worker threads (other unfinished tasks in the file run too)', positiveNumber, 1),
  'SQLite file to keep the task in (created if missing)',
).action(run);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version exit 0; every other complaint of the parser is bad usage.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof CliError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`offthread: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
