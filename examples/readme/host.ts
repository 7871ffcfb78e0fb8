/**
 * The README's first example, host side: kept here so that it compiles with the build
 * (`node dist/examples/readme/host.js` runs it). Change README.md with it.
 */
import { TaskRuntime } from 'offthread';
import type * as tasks from './handlers.js';

await using rt = await TaskRuntime.open<typeof tasks>({
  handlers: new URL('./handlers.js', import.meta.url),
  database: ':memory:', // or a file: './tasks.db'
  concurrency: 2,
});

rt.events$.subscribe((event) => console.log(event.type, event.taskId));

// Checked against wordCount's handler: a misspelt type or a wrong payload does not compile.
const handle = await rt.submit('wordCount', { texts: ['one two three', 'four five'] }, { name: 'count words', priority: 'high' });
handle.progress$.subscribe(({ progress, message }) => console.log(`${progress}% ${message ?? ''}`));
const { words } = await handle.result(); // typed as wordCount's return value: { words: number }
console.log(words); // 5
console.log(await rt.stats()); // { total: 1, queued: 0, running: 0, paused: 0, completed: 1, ... }
// `await using` closes the runtime here (graceful).
