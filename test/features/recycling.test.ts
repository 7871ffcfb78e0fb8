import { describe, expect, it } from 'vitest';
import { openRuntime } from '../helpers.js';

describe('thread recycling', () => {
  it('replaces a thread after maxTasksPerThread tasks; no task fails or runs twice', async () => {
    const rt = await openRuntime({ concurrency: 1, maxTasksPerThread: 2 });
    const threads: number[] = [];
    for (let i = 0; i < 6; i++) threads.push((await (await rt.submit('whichThread')).result()) as number);
    // Two tasks per thread, then a fresh thread.
    expect(new Set(threads).size).toBe(3);
    expect(threads[0]).toBe(threads[1]);
    expect(threads[2]).not.toBe(threads[1]);
    const rows = await rt.list({ type: 'whichThread' });
    expect(rows.every((t) => t.status === 'completed' && t.attempts === 1)).toBe(true);
    await rt.close();
  });
});
