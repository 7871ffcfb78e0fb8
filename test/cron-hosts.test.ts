/**
 * Cron schedules shared by several hosts on one PostgreSQL queue (a real server, a fresh
 * database per test): each host is a CronScheduler over its own PgTaskStore, so its own
 * connections. Each tick fires once across them, also one missed while they were all down,
 * and a schedule one host adds fires on another.
 *
 * Time is each host's `now`, never a real wait: a test moves a clock and calls runDue()
 * (what the timer does when it fires), or waits for a tick a host fires by itself. Schedules
 * are hourly and clocks sit on or just past a whole hour, so a timer armed for the next tick
 * would wait most of an hour: none fires during a test unless a tick is due at once.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CronScheduler, type CronTick } from '../src/scheduler/cron.js';
import { PgScheduleStore, SCHEDULES_CHANNEL } from '../src/store/postgres/pg-schedule-store.js';
import { PgTaskStore } from '../src/store/postgres/pg-task-store.js';
import type { ScheduleRecord } from '../src/store/schedule-store.js';
import { freshDatabase, withAdmin } from './pg/server.js';

const HOUR = 3_600_000;
// A whole hour (in any time zone of whole-hour offset), so hourly ticks land on T0 + k * HOUR.
const T0 = Date.parse('2030-06-01T12:00:00.000Z');
const HOURLY = '0 * * * *';

interface Host {
  name: string;
  store: PgTaskStore;
  scheduler: CronScheduler;
  /** This host's clock: what its `now` returns. */
  clock: { now: number };
}

/** What every host did, in order: the tasks they submitted and the ticks they fired. */
let submitted: { host: string; type: string; payload: unknown; id: string }[];
let ticks: (CronTick & { host: string })[];
let errors: unknown[];
/** Tasks not finished yet, whichever host submitted them. */
let unfinished: Set<string>;
let tickWaiters: ((tick: CronTick & { host: string }) => void)[];
const opened: Host[] = [];

afterEach(async () => {
  for (const host of opened.splice(0)) {
    await host.scheduler.stop();
    await host.store.close();
  }
});

function reset(): void {
  submitted = [];
  ticks = [];
  errors = [];
  unfinished = new Set();
  tickWaiters = [];
}

/** Opens a host on the queue and starts its scheduler. */
async function openHost(url: string, name: string, now = T0, queue?: string): Promise<Host> {
  const store = await PgTaskStore.open({ connectionString: url, ...(queue === undefined ? {} : { queue }) });
  const clock = { now };
  let n = 0;
  const scheduler = new CronScheduler({
    store: store.schedules,
    async submit(type, payload) {
      const id = `${name}-${++n}`;
      submitted.push({ host: name, type, payload, id });
      unfinished.add(id);
      return { id };
    },
    isUnfinished: (id) => unfinished.has(id),
    now: () => clock.now,
    onError: (error) => errors.push(error),
    onTick: (tick) => {
      const told = { ...tick, host: name };
      ticks.push(told);
      for (const waiter of tickWaiters.splice(0)) waiter(told);
    },
  });
  const host = { name, store, scheduler, clock };
  opened.push(host);
  await scheduler.start();
  return host;
}

/** Stops a host as if it went down: its scheduler, then its connections. */
async function downHost(host: Host): Promise<void> {
  opened.splice(opened.indexOf(host), 1);
  await host.scheduler.stop();
  await host.store.close();
}

/** The next tick any host fires. */
function nextTick(): Promise<CronTick & { host: string }> {
  return new Promise((resolve) => tickWaiters.push(resolve));
}

/** Sets every host's clock, then fires what is due on all of them at once. */
async function at(hosts: Host[], now: number): Promise<void> {
  for (const host of hosts) host.clock.now = now;
  await Promise.all(hosts.map((host) => host.scheduler.runDue()));
}

async function stored(host: Host, name: string): Promise<ScheduleRecord | undefined> {
  return host.store.schedules.get(name);
}

describe('cron schedules on a shared PostgreSQL queue', () => {
  it('fires each tick once across three hosts', async () => {
    reset();
    const url = await freshDatabase();
    const hosts = [await openHost(url, 'a'), await openHost(url, 'b'), await openHost(url, 'c')];
    await hosts[0]!.scheduler.schedule('report', HOURLY, 'work', { n: 1 }, { overlap: true });

    for (let k = 1; k <= 6; k++) {
      // Every host's timer "fires" at the tick, at the same moment.
      await at(hosts, T0 + k * HOUR);
      expect(submitted).toHaveLength(k);
      // And again: the tick is taken, nothing more fires.
      await at(hosts, T0 + k * HOUR + 1);
      expect(submitted).toHaveLength(k);
    }
    expect(submitted.every((s) => s.type === 'work' && (s.payload as { n: number }).n === 1)).toBe(true);
    expect(new Set(ticks.map((t) => t.at))).toEqual(new Set([1, 2, 3, 4, 5, 6].map((k) => T0 + k * HOUR)));
    expect(ticks.every((t) => !t.skipped)).toBe(true);
    expect(await stored(hosts[1]!, 'report')).toMatchObject({
      lastRunAt: T0 + 6 * HOUR,
      lastTaskId: submitted.at(-1)!.id,
      nextRunAt: T0 + 7 * HOUR,
    });
    expect(errors).toEqual([]);
  });

  it('skips a tick while the task another host submitted is unfinished', async () => {
    reset();
    const url = await freshDatabase();
    const hosts = [await openHost(url, 'a'), await openHost(url, 'b')];
    await hosts[1]!.scheduler.schedule('solo', HOURLY, 'work');

    await at(hosts, T0 + HOUR);
    expect(submitted).toHaveLength(1);
    await at(hosts, T0 + 2 * HOUR); // the first task still runs, whichever host fires
    await at(hosts, T0 + 3 * HOUR);
    expect(submitted).toHaveLength(1);
    expect(ticks.map((t) => t.skipped)).toEqual([false, true, true]);

    unfinished.clear();
    await at(hosts, T0 + 4 * HOUR);
    expect(submitted).toHaveLength(2);
    expect(await stored(hosts[0]!, 'solo')).toMatchObject({ lastRunAt: T0 + 4 * HOUR, lastTaskId: submitted[1]!.id });
    expect(errors).toEqual([]);
  });

  it('fires a tick missed while every host was down once, when they come back', async () => {
    reset();
    const url = await freshDatabase();
    let hosts = [await openHost(url, 'a'), await openHost(url, 'b'), await openHost(url, 'c')];
    await hosts[0]!.scheduler.schedule('report', HOURLY, 'work', undefined, { overlap: true });
    await at(hosts, T0 + HOUR);
    expect(submitted).toHaveLength(1);
    for (const host of hosts) await downHost(host);

    // Ten hours and a half later: ten ticks were missed. The hosts come back at once; each
    // finds the tick due on start and its timer fires at once. One of them fires it.
    const back = T0 + 11 * HOUR + 30 * 60_000;
    const fired = nextTick();
    hosts = await Promise.all(['d', 'e', 'f'].map((name) => openHost(url, name, back)));
    expect(await fired).toMatchObject({ name: 'report', at: back, skipped: false });
    // Every host's timer has fired (or fires now): nothing more.
    await at(hosts, back);
    expect(submitted).toHaveLength(2);
    expect(await stored(hosts[2]!, 'report')).toMatchObject({ lastRunAt: back, nextRunAt: T0 + 12 * HOUR });

    // Then the schedule keeps its rhythm.
    await at(hosts, T0 + 12 * HOUR);
    expect(submitted).toHaveLength(3);
    expect(errors).toEqual([]);
  });

  it('fires a schedule added on one host on another, told by the store', async () => {
    reset();
    const url = await freshDatabase();
    const a = await openHost(url, 'a');
    // b's clock is already past the tick a's schedule will get: once b learns of the
    // schedule, its timer fires at once.
    await openHost(url, 'b', T0 + HOUR);
    const fired = nextTick();
    await a.scheduler.schedule('late', HOURLY, 'other', 'p');
    await downHost(a);
    expect(await fired).toMatchObject({ host: 'b', name: 'late', at: T0 + HOUR });
    expect(submitted).toEqual([{ host: 'b', type: 'other', payload: 'p', id: 'b-1' }]);
    expect(errors).toEqual([]);
  });

  it('fires what a schedule says at its tick, when another host replaced or removed it meanwhile', async () => {
    reset();
    const url = await freshDatabase();
    const hosts = [await openHost(url, 'a'), await openHost(url, 'b')];
    await hosts[0]!.scheduler.schedule('x', HOURLY, 'work', 1, { overlap: true });
    await hosts[0]!.scheduler.schedule('y', HOURLY, 'work', 2, { overlap: true });
    await at(hosts, T0 + HOUR);
    expect(submitted).toHaveLength(2);

    // b replaces x and removes y: whichever host fires the next tick fires what is stored.
    await hosts[1]!.scheduler.schedule('x', '30 * * * *', 'other', 3, { overlap: true });
    expect(await hosts[1]!.scheduler.unschedule('y')).toBe(true);
    await at(hosts, T0 + HOUR + 30 * 60_000);
    expect(submitted.slice(2).map((s) => [s.type, s.payload])).toEqual([['other', 3]]);
    await at(hosts, T0 + 2 * HOUR);
    expect(submitted).toHaveLength(3);
    expect(errors).toEqual([]);
  });

  it('keeps queues apart', async () => {
    reset();
    const url = await freshDatabase();
    const a = await openHost(url, 'a', T0, 'one');
    const b = await openHost(url, 'b', T0 + HOUR, 'two');
    await a.scheduler.schedule('x', HOURLY, 'work');
    expect(await b.scheduler.list()).toEqual([]);
    await at([b], T0 + HOUR);
    await at([a], T0 + HOUR);
    expect(submitted.map((s) => s.host)).toEqual(['a']);
  });
});

describe('PgScheduleStore', () => {
  const stores: PgTaskStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  const open = async (url: string, queue?: string): Promise<PgScheduleStore> => {
    const store = await PgTaskStore.open({ connectionString: url, ...(queue === undefined ? {} : { queue }) });
    stores.push(store);
    return store.schedules as PgScheduleStore;
  };
  const schedule = (name: string, over: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
    name,
    cron: HOURLY,
    type: 'work',
    payload: null,
    options: null,
    overlap: false,
    nextRunAt: T0 + HOUR,
    lastRunAt: null,
    lastTaskId: null,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  });

  it('lets one of several hosts claiming a tick at once win it', async () => {
    const url = await freshDatabase();
    const hosts = await Promise.all([open(url), open(url), open(url)]);
    await hosts[0]!.save(schedule('x'));
    for (let k = 1; k <= 5; k++) {
      const seen = { cron: HOURLY, nextRunAt: T0 + k * HOUR };
      const claims = await Promise.all(
        hosts.flatMap((host) => [1, 2].map(() => host.claimTick('x', seen, { nextRunAt: T0 + (k + 1) * HOUR, updatedAt: T0 + k * HOUR }))),
      );
      const won = claims.filter((claim) => claim !== undefined);
      expect(won).toHaveLength(1);
      expect(won[0]).toMatchObject({ name: 'x', nextRunAt: T0 + (k + 1) * HOUR });
    }
    // A claim made with another expression than the stored one loses.
    expect(await hosts[1]!.claimTick('x', { cron: '30 * * * *', nextRunAt: T0 + 6 * HOUR }, { nextRunAt: null, updatedAt: T0 })).toBeUndefined();
    expect(await hosts[1]!.claimTick('gone', { cron: HOURLY, nextRunAt: T0 + 6 * HOUR }, { nextRunAt: null, updatedAt: T0 })).toBeUndefined();
  });

  it('records a run unless a later one is recorded, and keeps the last run when a schedule is replaced', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    await store.save(schedule('x'));
    await store.recordRun('x', { lastRunAt: T0 + 2 * HOUR, lastTaskId: 'later', updatedAt: T0 + 2 * HOUR });
    await store.recordRun('x', { lastRunAt: T0 + HOUR, lastTaskId: 'earlier', updatedAt: T0 + 3 * HOUR });
    expect(await store.get('x')).toMatchObject({ lastRunAt: T0 + 2 * HOUR, lastTaskId: 'later' });

    await store.save(schedule('x', { type: 'other', createdAt: T0 + 5, updatedAt: T0 + 5 }));
    expect(await store.get('x')).toMatchObject({ type: 'other', lastRunAt: T0 + 2 * HOUR, lastTaskId: 'later', createdAt: T0, updatedAt: T0 + 5 });

    expect(await store.remove('x')).toBe(true);
    await store.recordRun('x', { lastRunAt: T0 + 4 * HOUR, lastTaskId: 'late', updatedAt: T0 + 4 * HOUR });
    expect(await store.get('x')).toBeUndefined();
  });

  it("tells a watcher of other hosts' saves and removes on its queue, and again after its connection is cut", async () => {
    const url = await freshDatabase();
    const [watched, peer, elsewhere] = [await open(url), await open(url), await open(url, 'other')];
    const changes = changeCounter();
    const unwatch = await watched.watch(changes.onChange);

    let told = changes.next();
    await peer.save(schedule('x'));
    await told;
    told = changes.next();
    await elsewhere.save(schedule('y')); // another queue: not told
    expect(await peer.remove('nope')).toBe(false); // nothing removed: not told
    expect(await peer.remove('x')).toBe(true);
    await told;
    expect(changes.count).toBe(2);

    // The server ends the listening connection: the store opens another and, as changes made
    // meanwhile were not told, tells the watcher once it listens again.
    told = changes.next();
    const cut = await withAdmin(async (admin) => {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query = $2`,
        [new URL(url).pathname.slice(1), `LISTEN ${SCHEDULES_CHANNEL}`],
      );
      return rowCount;
    });
    expect(cut).toBe(1);
    await told;
    told = changes.next();
    await peer.save(schedule('z'));
    await told;
    expect(changes.count).toBe(4);

    await unwatch();
    await unwatch(); // once is enough
    expect(await listening(url, 0)).toBe(0);
  });

  it('closes the listening connection after the last watcher leaves, and opens one again for the next', async () => {
    const url = await freshDatabase();
    const store = await open(url);
    const first = changeCounter();
    const second = changeCounter();
    const stopFirst = await store.watch(first.onChange);
    const stopSecond = await store.watch(second.onChange);
    expect(await listening(url, 1)).toBe(1);
    await stopFirst();
    expect(await listening(url, 1)).toBe(1);
    await stopSecond();
    expect(await listening(url, 0)).toBe(0);

    const third = changeCounter();
    const stopThird = await store.watch(third.onChange);
    const told = third.next();
    await store.save(schedule('x')); // a host's own changes are told too: harmless, and simpler
    await told;
    expect(first.count + second.count).toBe(0);
    await stopThird();
    expect(await listening(url, 0)).toBe(0);
  });
});

/** Counts a watcher's calls; next() resolves at the next one. */
function changeCounter() {
  let waiters: (() => void)[] = [];
  const counter = {
    count: 0,
    onChange: () => {
      counter.count++;
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) resolve();
    },
    next: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
  return counter;
}

/**
 * Connections to the database that LISTEN for schedule changes, once there are `expected`:
 * a connection its client closed may be listed for a moment after, until the server has
 * ended it, so the count is read again (each read a round trip, no timer) for a while.
 */
async function listening(url: string, expected: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let n = -1;
    for (let read = 0; read < 1000 && n !== expected; read++) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM pg_stat_activity WHERE datname = current_database() AND query = $1 AND pid <> pg_backend_pid()`,
        [`LISTEN ${SCHEDULES_CHANNEL}`],
      );
      n = rows[0]!.n;
    }
    return n;
  } finally {
    await client.end();
  }
}
