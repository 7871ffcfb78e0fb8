import { describe, expect, it, vi } from 'vitest';
import { openRuntime } from '../helpers.js';

describe('retention', () => {
  it('removes finished tasks older than their status’s retention, in the background', async () => {
    // The host's clock is faked (the worker threads are real) so a minute passes at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const rt = await openRuntime({ retention: { completed: 60_000 } });
      const done = await rt.submit('echo', 'old');
      await done.result();
      const failed = await rt.submit('fail');
      await failed.result().catch(() => undefined);
      expect(await rt.get(done.id)).toBeDefined();
      vi.advanceTimersByTime(65_000); // a little more: completedAt comes from the (real) worker clock
      // The sweep runs on the event loop (flush, then batches between turns): give it turns.
      for (let turn = 0; turn < 100 && (await rt.get(done.id)) !== undefined; turn++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await rt.get(done.id)).toBeUndefined();
      expect((await rt.get(failed.id))!.status).toBe('failed'); // no retention for failed
      await rt.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a bad retention with ERR_INVALID_OPTION', async () => {
    await expect(openRuntime({ retention: { completed: -1 } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'retention.completed' });
    await expect(openRuntime({ retention: { done: 5 } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'done' });
  });
});
