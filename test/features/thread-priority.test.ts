import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { threadNiceIncrement } from '../../src/workers/pool.js';
import { openRuntime } from '../helpers.js';

/** This thread's nice value: field 19 of /proc/thread-self/stat (Linux). */
function mainThreadNice(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

// Nice values are per thread only on Linux; elsewhere the optional module maps them differently.
describe.skipIf(process.platform !== 'linux')('worker thread priority (niceIncrement)', () => {
  it('runs worker threads 10 nice levels below the host by default, and leaves the main thread alone', async () => {
    const before = mainThreadNice();
    const rt = await openRuntime({ concurrency: 2 });
    const nices = await Promise.all([1, 2].map(async () => (await rt.submit('threadNice')).result()));
    expect(nices).toEqual([Math.min(19, before + 10), Math.min(19, before + 10)]);
    expect(mainThreadNice()).toBe(before);
    await rt.close();
  });

  it('takes the increment from the option; 0 keeps the host’s priority', async () => {
    const base = mainThreadNice();
    for (const niceIncrement of [0, 3]) {
      const rt = await openRuntime({ concurrency: 1, niceIncrement });
      expect(await (await rt.submit('threadNice')).result()).toBe(Math.min(19, base + niceIncrement));
      await rt.close();
    }
  });
});

describe('threadNiceIncrement', () => {
  it('passes the increment on Linux only: elsewhere nice() would lower the whole process', () => {
    expect(threadNiceIncrement(10, 'linux')).toBe(10);
    expect(threadNiceIncrement(10, 'darwin')).toBe(0);
    expect(threadNiceIncrement(10, 'freebsd')).toBe(0);
    expect(threadNiceIncrement(10, 'win32')).toBe(0);
  });
});
