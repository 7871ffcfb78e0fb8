/**
 * No-op tasks of mixed priorities through a file store on 2 threads, tasks/s from the first
 * submit to idle: 50k in five submitMany calls of 10k, then 50k separate submit() calls.
 * One line of JSON per run; compare two builds by running each in turns (the machine may be
 * shared), e.g. for what an index costs the flow.
 *
 *   node dist/bench/diagnostics/file-flow.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TaskRuntime, type Priority } from 'offthread';
import { HANDLERS } from '../contenders.js';

const COUNT = 50_000;
const PRIORITIES: Priority[] = ['low', 'normal', 'high'];

const dir = mkdtempSync(join(tmpdir(), 'offthread-file-flow-'));
const rt = await TaskRuntime.open({ handlers: HANDLERS, database: join(dir, 'flow.db'), concurrency: 2 });
try {
  // Warm up: threads started, the no-op type known to be short.
  await rt.submitMany(Array.from({ length: 200 }, () => ({ type: 'noop' })));
  await rt.whenIdle();
  let start = performance.now();
  for (let i = 0; i < COUNT / 10_000; i++) {
    await rt.submitMany(Array.from({ length: 10_000 }, (_, j) => ({ type: 'noop', payload: j, options: { priority: PRIORITIES[j % 3]! } })));
  }
  await rt.whenIdle();
  const submitMany = COUNT / ((performance.now() - start) / 1000);
  start = performance.now();
  const submits: Promise<unknown>[] = [];
  for (let i = 0; i < COUNT; i++) submits.push(rt.submit('noop', i, { priority: PRIORITIES[i % 3]! }));
  await Promise.all(submits);
  await rt.whenIdle();
  const submitLoop = COUNT / ((performance.now() - start) / 1000);
  console.log(JSON.stringify({ submitMany: Math.round(submitMany), submitLoop: Math.round(submitLoop) }));
} finally {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
}
