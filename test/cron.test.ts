import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CronScheduler, type CronSchedulerDeps, type CronTick } from '../src/scheduler/cron.js';
import { migrate } from '../src/store/migrations.js';
import { SqliteScheduleStore, type ScheduleStore } from '../src/store/schedule-store.js';
import { StoreHealthMonitor } from '../src/streams/store-health.js';

// A whole second, so every-second ticks land on T0 + k * 1000.
const T0 = Date.parse('2030-06-01T12:00:00.000Z');
const EVERY_SECOND = '* * * * * *';

let db: Database.Database;
const schedulers: CronScheduler[] = [];

/** The test database's schedules, with `claimTick` replaced (a store that fails, or races another host). */
function withClaimTick(raw: SqliteScheduleStore, claimTick: ScheduleStore['claimTick']): ScheduleStore {
  return {
    save: (r) => raw.save(r),
    remove: (name) => raw.remove(name),
    get: (name) => raw.get(name),
    list: () => raw.list(),
    recordRun: (name, run) => raw.recordRun(name, run),
    claimTick,
  };
}

/** A scheduler on the test database with a fake runtime: tasks are ids in `unfinished` until finished. */
function harness(overrides: Partial<CronSchedulerDeps> = {}, prefix = 'task') {
  const submitted: { type: string; payload: unknown; options: object | undefined; id: string }[] = [];
  const unfinished = new Set<string>();
  const ticks: CronTick[] = [];
  const errors: unknown[] = [];
  const scheduler = new CronScheduler({
    store: new SqliteScheduleStore(db),
    async submit(type, payload, options) {
      const id = `${prefix}-${submitted.length + 1}`;
      submitted.push({ type, payload, options, id });
      unfinished.add(id);
      return { id };
    },
    isUnfinished: (id) => unfinished.has(id),
    now: () => Date.now(), // the fake clock
    onError: (e) => errors.push(e),
    onTick: (t) => ticks.push(t),
    ...overrides,
  });
  schedulers.push(scheduler);
  return { scheduler, submitted, unfinished, ticks, errors, finishAll: () => unfinished.clear() };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  db = new Database(':memory:');
  migrate(db);
});

afterEach(() => {
  for (const s of schedulers.splice(0)) void s.stop();
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
  db.close();
});

describe('CronScheduler', () => {
  it('submits on each tick of an every-second schedule, with its payload and options', async () => {
    const { scheduler, submitted, finishAll } = harness();
    await scheduler.start();
    const info = await scheduler.schedule('beat', EVERY_SECOND, 'work', { n: 1 }, { priority: 'high' });
    expect(info).toMatchObject({ name: 'beat', overlap: false, nextRunAt: T0 + 1000, lastRunAt: null });
    expect(vi.getTimerCount()).toBe(1); // one timer, not one per schedule or an interval

    for (let i = 1; i <= 3; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      expect(submitted).toHaveLength(i);
      finishAll();
    }
    expect(submitted[0]).toEqual({ type: 'work', payload: { n: 1 }, options: { priority: 'high' }, id: 'task-1' });
    const [listed] = await scheduler.list();
    expect(listed).toMatchObject({ lastRunAt: T0 + 3000, lastTaskId: 'task-3', nextRunAt: T0 + 4000 });
  });

  it('skips a tick while the previous task is unfinished, unless overlap is set', async () => {
    const { scheduler, submitted, ticks } = harness();
    await scheduler.start();
    await scheduler.schedule('solo', EVERY_SECOND, 'work');
    await scheduler.schedule('many', EVERY_SECOND, 'other', undefined, { overlap: true });

    await vi.advanceTimersByTimeAsync(3000); // no task ever finishes
    expect(submitted.filter((s) => s.type === 'work')).toHaveLength(1);
    expect(submitted.filter((s) => s.type === 'other')).toHaveLength(3);
    expect(submitted.find((s) => s.type === 'other')!.options).toBeUndefined(); // overlap is not a submit option
    expect(ticks.filter((t) => t.name === 'solo').map((t) => t.skipped)).toEqual([false, true, true]);

    const solo = (await scheduler.list()).find((s) => s.name === 'solo')!;
    expect(solo).toMatchObject({ lastRunAt: T0 + 1000, lastTaskId: 'task-1', nextRunAt: T0 + 4000 });
  });

  it('runs a tick missed while the host was down once, then keeps its rhythm', async () => {
    const first = harness();
    await first.scheduler.start();
    await first.scheduler.schedule('beat', EVERY_SECOND, 'work', 'p');
    await vi.advanceTimersByTimeAsync(1000);
    expect(first.submitted).toHaveLength(1);
    first.scheduler.stop(); // the host goes down

    vi.setSystemTime(T0 + 24 * 3600_000 + 250); // a day later: 86,400 ticks missed
    const second = harness({}, 'later'); // its task ids differ from the first host's
    await second.scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(second.submitted).toEqual([{ type: 'work', payload: 'p', options: undefined, id: 'later-1' }]);
    const [info] = await second.scheduler.list();
    expect(info!.nextRunAt).toBe(T0 + 24 * 3600_000 + 1000); // the next whole second after now

    second.finishAll();
    await vi.advanceTimersByTimeAsync(750);
    expect(second.submitted).toHaveLength(2);
  });

  it('stops submitting once unscheduled', async () => {
    const { scheduler, submitted } = harness();
    await scheduler.start();
    await scheduler.schedule('beat', EVERY_SECOND, 'work', undefined, { overlap: true });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await scheduler.unschedule('beat')).toBe(true);
    expect(await scheduler.unschedule('beat')).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(submitted).toHaveLength(1);
    expect(await scheduler.list()).toEqual([]);
  });

  it('rejects bad cron expressions, names and options with ERR_INVALID_OPTION, storing nothing', async () => {
    const { scheduler } = harness();
    await scheduler.start();
    const cases: [unknown, unknown, unknown, string][] = [
      ['a', 'not a cron', undefined, 'cron'],
      ['a', '* * *', undefined, 'cron'],
      ['a', '61 * * * * *', undefined, 'cron'],
      ['a', '', undefined, 'cron'],
      ['a', 42, undefined, 'cron'],
      ['a', '2031-01-01T00:00:00', undefined, 'cron'], // croner's one-off date form: not a schedule
      ['a', '0 0 0 1 1 * 2020', undefined, 'cron'], // never fires again
      ['', EVERY_SECOND, undefined, 'name'],
      [7, EVERY_SECOND, undefined, 'name'],
      ['a', EVERY_SECOND, { overlap: 'yes' }, 'overlap'],
      ['a', EVERY_SECOND, { runAt: T0 }, 'runAt'],
      ['a', EVERY_SECOND, { timezone: 'Mars/Olympus_Mons' }, 'timezone'],
      ['a', EVERY_SECOND, { timezone: '' }, 'timezone'],
      ['a', EVERY_SECOND, { timezone: 1 }, 'timezone'],
      ['a', EVERY_SECOND, { timezone: null }, 'timezone'],
    ];
    for (const [name, cron, options, option] of cases) {
      const call = scheduler.schedule(name as string, cron as string, 'work', undefined, options as object);
      await expect(call, `${String(name)} ${String(cron)}`).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option });
    }
    await expect(scheduler.schedule('a', 'nope', 'work')).rejects.toThrow(/"nope" is not a valid cron expression/);
    await expect(scheduler.schedule('a', EVERY_SECOND, 'work', undefined, { timezone: 'Europe/Berln' })).rejects.toThrow(
      /"Europe\/Berln" is not a time zone/,
    );
    await expect(scheduler.schedule('a', EVERY_SECOND, 'work', () => 1)).rejects.toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    expect(await scheduler.list()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps schedules in the store, and a replacement updates the one of that name', async () => {
    const { scheduler } = harness();
    await scheduler.start();
    const payload = { at: new Date(5), tags: new Set(['x']) };
    await scheduler.schedule('nightly', '0 0 3 * * *', 'work', payload, { overlap: true, retries: 2 });
    await scheduler.schedule('beat', EVERY_SECOND, 'work');
    await vi.advanceTimersByTimeAsync(1000); // beat runs once
    vi.setSystemTime(T0 + 5000);
    await scheduler.schedule('beat', '*/10 * * * * *', 'other');

    const stored = await new SqliteScheduleStore(db).list();
    expect(stored.map((r) => r.name)).toEqual(['beat', 'nightly']);
    expect(stored[0]).toMatchObject({
      cron: '*/10 * * * * *',
      type: 'other',
      lastTaskId: 'task-1', // kept: overlap still sees the task it submitted
      createdAt: T0,
      updatedAt: T0 + 5000,
      nextRunAt: T0 + 10_000,
    });
    expect(stored[1]).toMatchObject({ payload, options: { retries: 2 }, overlap: true, lastRunAt: null });

    // A scheduler on the same database sees the same schedules.
    const other = harness();
    await other.scheduler.start();
    expect((await other.scheduler.list()).map((s) => s.name)).toEqual(['beat', 'nightly']);
  });

  describe('timezone', () => {
    const DAILY_0230 = '0 30 2 * * *';
    const at = (iso: string) => Date.parse(iso);

    /** The times a daily schedule in `timezone` fires from `from` for `days` days. */
    async function firings(cron: string, timezone: string, from: string, days: number) {
      vi.setSystemTime(at(from));
      const { scheduler, ticks, submitted, errors } = harness();
      await scheduler.start();
      await scheduler.schedule('daily', cron, 'work', undefined, { timezone, overlap: true });
      await vi.advanceTimersByTimeAsync(days * 24 * 3600_000);
      await scheduler.unschedule('daily');
      await scheduler.stop();
      expect(errors).toEqual([]);
      expect(submitted.map((s) => s.id)).toEqual(ticks.map((t) => t.taskId));
      return ticks.map((t) => t.at);
    }

    it('fires 02:30 Berlin time once on the day of the spring change, at 03:00 CEST after the gap', async () => {
      // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens that day. croner
      // fires it at the first instant after the gap (03:00 CEST = 01:00 UTC), once.
      expect(await firings(DAILY_0230, 'Europe/Berlin', '2026-03-27T12:00:00Z', 3)).toEqual([
        at('2026-03-28T01:30:00Z'), // 02:30 CET (UTC+1)
        at('2026-03-29T01:00:00Z'), // the skipped 02:30: 03:00 CEST
        at('2026-03-30T00:30:00Z'), // 02:30 CEST (UTC+2)
      ]);
      expect([1774661400000, 1774746000000, 1774830600000]).toEqual([
        at('2026-03-28T01:30:00Z'),
        at('2026-03-29T01:00:00Z'),
        at('2026-03-30T00:30:00Z'),
      ]);
    });

    it('fires 02:30 Berlin time once on the day of the autumn change, at its first occurrence', async () => {
      // 2026-10-25: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice (00:30 and
      // 01:30 UTC). croner fires the first (CEST) one only; the repeat fires nothing.
      expect(await firings(DAILY_0230, 'Europe/Berlin', '2026-10-24T12:00:00Z', 3)).toEqual([
        at('2026-10-25T00:30:00Z'), // 02:30 CEST, the first 02:30 of the day
        at('2026-10-26T01:30:00Z'), // 02:30 CET
        at('2026-10-27T01:30:00Z'),
      ]);
      expect([1792888200000, 1792978200000]).toEqual([at('2026-10-25T00:30:00Z'), at('2026-10-26T01:30:00Z')]);
    });

    it('fires 09:00 New York time at 14:00 UTC in winter and 13:00 UTC in summer', async () => {
      // 2026-03-08: New York moves from EST (UTC-5) to EDT (UTC-4).
      expect(await firings('0 0 9 * * *', 'America/New_York', '2026-03-06T12:00:00Z', 3)).toEqual([
        at('2026-03-06T14:00:00Z'),
        at('2026-03-07T14:00:00Z'),
        at('2026-03-08T13:00:00Z'),
      ]);
      expect(await firings('0 0 9 * * *', 'America/New_York', '2026-07-14T12:00:00Z', 1)).toEqual([at('2026-07-14T13:00:00Z')]);
      expect(await firings('0 0 9 * * *', 'America/New_York', '2026-12-14T12:00:00Z', 1)).toEqual([at('2026-12-14T14:00:00Z')]);
    });

    it('keeps the zone with the schedule, reports it, and submits without it', async () => {
      vi.setSystemTime(at('2026-03-27T12:00:00Z'));
      const first = harness();
      await first.scheduler.start();
      const info = await first.scheduler.schedule('daily', DAILY_0230, 'work', undefined, {
        timezone: 'Europe/Berlin',
        priority: 'high',
        overlap: true,
      });
      expect(info).toMatchObject({ timezone: 'Europe/Berlin', options: { priority: 'high' }, nextRunAt: at('2026-03-28T01:30:00Z') });
      expect(info.options).not.toHaveProperty('timezone');
      await first.scheduler.schedule('zone-only', DAILY_0230, 'other', undefined, { timezone: 'Asia/Tokyo', overlap: true });
      await first.scheduler.schedule('local', DAILY_0230, 'work');
      expect((await first.scheduler.list()).map((s) => [s.name, s.timezone, s.options])).toEqual([
        ['daily', 'Europe/Berlin', { priority: 'high' }],
        ['local', null, null],
        ['zone-only', 'Asia/Tokyo', null],
      ]);
      // Kept among the stored options, so no column of its own is needed.
      expect((await new SqliteScheduleStore(db).get('daily'))!.options).toEqual({ priority: 'high', timezone: 'Europe/Berlin' });
      await first.scheduler.stop();

      // Another host (or this one restarted) reads the same wall clock from the store.
      const second = harness();
      await second.scheduler.start();
      await second.scheduler.unschedule('local'); // its time depends on the host's zone
      await vi.advanceTimersByTimeAsync(2 * 24 * 3600_000);
      expect(second.ticks.map((t) => [t.name, t.at])).toEqual([
        ['zone-only', at('2026-03-27T17:30:00Z')], // 02:30 JST (UTC+9)
        ['daily', at('2026-03-28T01:30:00Z')],
        ['zone-only', at('2026-03-28T17:30:00Z')],
        ['daily', at('2026-03-29T01:00:00Z')],
      ]);
      expect(second.submitted.map((s) => s.options)).toEqual([undefined, { priority: 'high' }, undefined, { priority: 'high' }]);
    });
  });

  it('waits past the setTimeout limit for a far schedule', async () => {
    const { scheduler, submitted } = harness();
    await scheduler.start();
    const { nextRunAt } = await scheduler.schedule('yearly', '0 0 0 1 1 *', 'work');
    expect(nextRunAt! - T0).toBeGreaterThan(2 ** 31 - 1);
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1); // the capped timer fires early and re-arms
    expect(submitted).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(nextRunAt! - Date.now());
    expect(submitted).toHaveLength(1);
  });

  it('moves on after a failed submit instead of retrying in a loop', async () => {
    const { scheduler, errors } = harness({ submit: () => Promise.reject(new Error('closed')) });
    await scheduler.start();
    await scheduler.schedule('beat', EVERY_SECOND, 'work');
    await vi.advanceTimersByTimeAsync(2000);
    expect(errors).toHaveLength(2);
    expect((await scheduler.list())[0]).toMatchObject({ lastTaskId: null, nextRunAt: T0 + 3000 });
  });

  it('fires each tick once when two schedulers share the store', async () => {
    const first = harness({}, 'a');
    const second = harness({}, 'b');
    await first.scheduler.start();
    await second.scheduler.start();
    await first.scheduler.schedule('beat', EVERY_SECOND, 'work', undefined, { overlap: true });
    await second.scheduler.runDue(); // reads the schedule first's added

    await vi.advanceTimersByTimeAsync(5000); // both timers fire at every tick
    expect(first.submitted.length + second.submitted.length).toBe(5);
    const ticks = [...first.ticks, ...second.ticks].map((t) => t.at).sort((x, y) => x - y);
    expect(ticks).toEqual([1, 2, 3, 4, 5].map((k) => T0 + k * 1000));
    expect([...first.errors, ...second.errors]).toEqual([]);
  });

  it('reads a schedule again when its tick was claimed after a change, and fires what is stored', async () => {
    const raw = new SqliteScheduleStore(db);
    let changeBeforeClaim = true;
    const store = withClaimTick(raw, async (name, seen, claim) => {
      if (changeBeforeClaim) {
        // Another host replaces the schedule between this host's read and its claim.
        changeBeforeClaim = false;
        const old = (await raw.get(name))!;
        await raw.save({ ...old, cron: '*/5 * * * * *', type: 'other', nextRunAt: T0 + 5000, updatedAt: Date.now() });
      }
      return raw.claimTick(name, seen, claim);
    });
    const { scheduler, submitted, ticks, errors } = harness({ store });
    await scheduler.start();
    await scheduler.schedule('beat', EVERY_SECOND, 'work');
    await vi.advanceTimersByTimeAsync(1000);
    expect(submitted).toHaveLength(0); // the claim lost: nothing fired at the old tick
    expect(vi.getTimerCount()).toBe(1); // re-armed for the stored schedule
    await vi.advanceTimersByTimeAsync(4000);
    expect(submitted.map((s) => s.type)).toEqual(['other']);
    expect(ticks.map((t) => t.at)).toEqual([T0 + 5000]);
    expect(errors).toEqual([]);
  });

  it('waits longer each time the store fails a tick, then fires the missed tick once', async () => {
    const raw = new SqliteScheduleStore(db);
    let down = true;
    let claims = 0;
    const store = withClaimTick(raw, async (name, seen, claim) => {
      claims++;
      if (down) throw new Error('connection refused');
      return raw.claimTick(name, seen, claim);
    });
    const { scheduler, submitted, errors } = harness({ store });
    await scheduler.start();
    await scheduler.schedule('beat', EVERY_SECOND, 'work', undefined, { overlap: true });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(claims).toBe(4); // at 1, 2, 4 and 8 s: not at every turn of the event loop
    expect(errors.map((e) => (e as Error).message)).toEqual(Array(4).fill('connection refused'));

    down = false;
    await vi.advanceTimersByTimeAsync(6000); // the next try, at 16 s
    expect(submitted).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000); // and the rhythm is back
    expect(submitted).toHaveLength(2);
  });

  it('tells health of a store failing its ticks once per episode, not once per try', async () => {
    const raw = new SqliteScheduleStore(db);
    let down = true;
    const store = withClaimTick(raw, async (name, seen, claim) => {
      if (down) throw new Error('connection refused');
      return raw.claimTick(name, seen, claim);
    });
    const health = new StoreHealthMonitor('a test database');
    const told: string[] = [];
    health.health$.subscribe((state) => told.push(state.status === 'failing' ? `failing ${state.error.message}` : 'ok'));
    const { scheduler, submitted, errors } = harness({ store, health });
    await scheduler.start();
    await scheduler.schedule('beat', EVERY_SECOND, 'work', undefined, { overlap: true });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(told).toEqual(['ok', 'failing connection refused']);
    expect(errors).toEqual([]); // told as health, not as a warning per try
    down = false;
    await vi.advanceTimersByTimeAsync(6000);
    expect(submitted).toHaveLength(1);
    expect(told).toEqual(['ok', 'failing connection refused', 'ok']);
    health.close();
  });

  it('stop() leaves no timer and can be called twice', async () => {
    const { scheduler, submitted } = harness();
    await scheduler.start();
    await scheduler.schedule('beat', EVERY_SECOND, 'work');
    scheduler.stop();
    scheduler.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(submitted).toHaveLength(0);
  });
});
