/**
 * Scale: 1M queued tasks in a file store (100k with --quick). Runs scale-child.js in its
 * own node with --expose-gc (heap figures need global.gc and a heap holding nothing else);
 * the child explains how it keeps tasks from running while they are queued. One run per
 * --rounds round (the figures have no baseline to take turns with).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Samples, type Metric } from '../lib/stats.js';
import { toRows, type Scenario } from '../lib/scenario.js';

const CHILD = fileURLToPath(new URL('./scale-child.js', import.meta.url));

interface ChildResult {
  total: number;
  queued: number;
  queuedAfterReopen: number;
  submitRate: number;
  heapPerTask: number;
  heapPerTaskAfterReopen: number;
  list: Metric;
  closeMs: number;
  openMs: number;
  firstDispatchMs: number;
  dbMB: number;
}

function runChild(total: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', CHILD, String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`scale-child exited with code ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildResult);
      } catch (error) {
        reject(error);
      }
    });
  });
}

export const scale: Scenario = {
  name: 'scale',
  summary: '1M queued tasks in a file store: submit rate, heap/task, list, reopen',
  async run(ctx) {
    const total = ctx.quick ? 100_000 : 1_000_000;
    // Each run takes a while and the figures move little: at most 3 runs.
    const runs = Math.min(ctx.rounds, 3);
    const samples = new Samples();
    const row = 'offthread file';
    let held = true;
    for (let i = 1; i <= runs; i++) {
      const r = await runChild(total);
      held &&= r.queued === total && r.queuedAfterReopen === total;
      samples.add(row, 'submitRate', r.submitRate);
      samples.add(row, 'heapPerTask', r.heapPerTask);
      samples.add(row, 'heapPerTaskAfterReopen', r.heapPerTaskAfterReopen);
      samples.add(row, 'listMs', r.list.median);
      samples.add(row, 'openMs', r.openMs);
      samples.add(row, 'firstDispatchMs', r.firstDispatchMs);
      samples.add(row, 'dbMB', r.dbMB);
      ctx.log(`scale: run ${i}/${runs}: queued ${r.queued}, after reopen ${r.queuedAfterReopen}; ${Math.round(r.submitRate)} tasks/s, ${Math.round(r.heapPerTask)} B/task, list ${r.list.median.toFixed(2)} ms, first dispatch after reopen ${Math.round(r.firstDispatchMs)} ms`);
    }
    return {
      scenario: 'scale',
      title: `${total} queued no-op tasks in a file store (submitMany, chunks of 10k, each awaited), ${runs} runs`,
      columns: [
        { key: 'submitRate', label: 'submit tasks/s' },
        { key: 'heapPerTask', label: 'heap B/task' },
        { key: 'heapPerTaskAfterReopen', label: 'heap B/task, reopened' },
        { key: 'listMs', label: 'list(queued, 100) ms', digits: 2 },
        { key: 'openMs', label: 'reopen: open() ms' },
        { key: 'firstDispatchMs', label: 'reopen -> first started ms' },
        { key: 'dbMB', label: 'file MB' },
      ],
      goal: `${total} queued tasks held (stats().queued, before and after the reopen); heap per queued task measured`,
      rows: toRows({ samples, skipped: new Map() }, [row], { goal: () => ({ text: 'all held', met: held }) }),
      notes: [
        'nothing runs while tasks are queued: concurrency 1, and the first task is a `checkpointing` one that never ends; close({ graceful: false }) interrupts it, and it is the first task started after the reopen.',
        'heap: process.memoryUsage().heapUsed after global.gc(), before and after submitting (or before open and after the first start, for the reopened runtime), over the task count.',
        'list: the median of 5 calls; reopen: from calling TaskRuntime.open on the closed file to the first `started` event (its `at`).',
      ],
    };
  },
};
