import { describe, expect, it } from 'vitest';
import { nextEvent, openRuntime, record } from './helpers.js';

/** The step a `chatty` progress event reports. */
const stepOf = (message: string | null): number => Number(message?.slice('step '.length));

describe('events of one task come in the order things happened', () => {
  it('tells the progress a task made before each pause, and none while it is paused, over many pauses', async () => {
    // A long interval: a report the host holds back is told only when something flushes
    // it. The thread sends what it holds before it stops at a checkpoint; the host must tell
    // it before the pause, not a minute later.
    const rt = await openRuntime({ concurrency: 1, progressIntervalMs: 60_000 });
    const events = record(rt.events$);
    const first = nextEvent(rt.events$, 'progress');
    const handle = await rt.submit('chatty');
    await first;
    const rounds = 30;
    for (let round = 0; round < rounds; round++) {
      await rt.pause(handle.id);
      await rt.resume(handle.id);
    }
    await rt.cancel(handle.id);
    const mine = events.filter((event) => event.taskId === handle.id);
    expect(mine.filter((event) => event.type === 'paused')).toHaveLength(rounds);
    expect(mine.at(-1)?.type).toBe('cancelled');
    let paused = false;
    let lastStep = -1;
    let toldBeforePause = 0;
    for (const [i, event] of mine.entries()) {
      if (event.type === 'paused') {
        paused = true;
        if (mine[i - 1]?.type === 'progress') toldBeforePause++;
      } else if (event.type === 'resumed') {
        paused = false;
      } else if (event.type === 'progress') {
        expect(paused, `progress "${event.message}" told while the task was paused`).toBe(false);
        expect(stepOf(event.message)).toBeGreaterThan(lastStep);
        lastStep = stepOf(event.message);
      }
    }
    // Each pause comes right after the progress its thread sent as it stopped (a thread that
    // stopped before reporting anything since the last resume has none to send: allow some).
    expect(toldBeforePause).toBeGreaterThanOrEqual(rounds / 2);
    await rt.close();
  });

  it('tells the last progress of a run before the run ends, for many tasks', async () => {
    const rt = await openRuntime({ concurrency: 2, progressIntervalMs: 20 });
    const events = record(rt.events$);
    const handles = await Promise.all(Array.from({ length: 20 }, () => rt.submit('steps', { count: 50 })));
    await Promise.all(handles.map((handle) => handle.result()));
    for (const handle of handles) {
      const mine = events.filter((event) => event.taskId === handle.id);
      const end = mine.findIndex((event) => event.type === 'completed');
      expect(end).toBe(mine.length - 1);
      const progress = mine.filter((event) => event.type === 'progress');
      expect(progress.at(-1)).toMatchObject({ progress: 100, message: 'step 50 of 50' });
    }
    await rt.close();
  });
});
