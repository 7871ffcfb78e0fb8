/**
 * Groups on a PostgreSQL queue shared by several runtimes (hosts): claims take a priority's
 * ready rows round-robin across groups, and a group's cap and rate hold for the whole queue
 * (src/store/postgres/pg-turns.ts, pg-group-claims.ts). Runs are observed from the handlers'
 * side (a service every host's handlers call) and from the stored start times, never by time.
 */
import { describe, expect, it } from 'vitest';
import { openRuntime } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';
import type { TaskRuntime } from 'offthread';

/**
 * A gate service shared by every runtime of the test: counts the handlers waiting at a gate
 * at once (a run's part, so a count of runs at most), per group prefix of the gate's name.
 */
class RunCounter {
  readonly #gates = new Map<string, { open(): void; opened: Promise<void> }>();
  readonly #reached: string[] = [];
  #waiters: Array<{ count: number; resolve(): void }> = [];
  running = 0;
  most = 0;

  readonly services = {
    gate: (name: string): Promise<void> => {
      this.running++;
      this.most = Math.max(this.most, this.running);
      this.#reached.push(name);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (this.#reached.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
      return this.#gate(name).opened.then(() => {
        this.running--;
      });
    },
  };

  /** Resolves once `count` gates in all have been reached; to their names, in order. */
  async reached(count: number): Promise<string[]> {
    if (this.#reached.length < count) await new Promise<void>((resolve) => this.#waiters.push({ count, resolve }));
    return this.#reached.slice(0, count);
  }

  open(name: string): void {
    this.#gate(name).open();
  }

  #gate(name: string): { open(): void; opened: Promise<void> } {
    let gate = this.#gates.get(name);
    if (gate === undefined) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      this.#gates.set(name, (gate = { open, opened }));
    }
    return gate;
  }
}

async function closeAll(runtimes: TaskRuntime[]): Promise<void> {
  for (const runtime of runtimes) await runtime.close();
}

describe('groups across hosts (PostgreSQL)', () => {
  it("a small group queued after a big one starts all its tasks before the big one's 20th, across two hosts", async () => {
    const database = await freshDatabase();
    // Every handler calls it as it begins: the order of the calls is the order of the starts.
    const begun: string[] = [];
    const services = { gate: (name: string) => void begun.push(name) };
    const producer = await openRuntime({ database, concurrency: 0 });
    // Queued before any host runs: claims alone decide the order.
    const big = await producer.submitMany(Array.from({ length: 1000 }, (_, i) => ({ type: 'gated', payload: { gate: `b${i}` }, options: { group: 'big' } })));
    const small = await producer.submitMany(Array.from({ length: 10 }, (_, i) => ({ type: 'gated', payload: { gate: `s${i}` }, options: { group: 'small' } })));
    const hosts = [await openRuntime({ database, concurrency: 1, services }), await openRuntime({ database, concurrency: 1, services })];
    await Promise.all([...small, ...big].map((handle) => handle.result()));
    const lastSmall = Math.max(...small.map((_, i) => begun.indexOf(`s${i}`)));
    const bigBefore = begun.slice(0, lastSmall).filter((name) => name.startsWith('b')).length;
    expect(bigBefore, `the small group's last task began after ${bigBefore} of the big group's`).toBeLessThan(20);
    await closeAll([...hosts, producer]);
  });

  it('without groups, claims keep submit order within a priority across hosts', async () => {
    const database = await freshDatabase();
    const producer = await openRuntime({ database, concurrency: 0 });
    const low = await producer.submitMany(Array.from({ length: 20 }, (_, i) => ({ type: 'echo', payload: i, options: { priority: 'low' as const } })));
    const high = await producer.submitMany(Array.from({ length: 20 }, (_, i) => ({ type: 'echo', payload: i, options: { priority: 'high' as const } })));
    const host = await openRuntime({ database, concurrency: 1 });
    await Promise.all([...low, ...high].map((handle) => handle.result()));
    const tasks = await Promise.all([...high, ...low].map(async (handle) => (await producer.get(handle.id))!));
    const byStart = [...tasks].sort((a, b) => a.startedAt! - b.startedAt!).map((task) => task.id);
    // Every high before every low; each in submit order (ties of a millisecond keep their order).
    expect(new Set(byStart.slice(0, 20))).toEqual(new Set(high.map((handle) => handle.id)));
    const startsOf = (ids: string[]): number[] => ids.map((id) => tasks.find((task) => task.id === id)!.startedAt!);
    for (const group of [high, low]) {
      const starts = startsOf(group.map((handle) => handle.id));
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
    }
    await closeAll([host, producer]);
  });

  it('a group cap of 2 holds across three hosts, while another group runs beside it', async () => {
    const database = await freshDatabase();
    const counter = new RunCounter();
    const producer = await openRuntime({ database, concurrency: 0, groups: { capped: { concurrency: 2 } } });
    const hosts = await Promise.all([1, 2, 3].map(() => openRuntime({ database, concurrency: 2, services: counter.services })));
    const capped = await producer.submitMany(Array.from({ length: 6 }, (_, i) => ({ type: 'gated', payload: { gate: `c${i}` }, options: { group: 'capped' } })));
    await counter.reached(2);
    // Six threads, four free: a task of another group submitted after the capped ones runs
    // (no head-of-line blocking), and the claims that took it passed over the capped group.
    expect(await (await producer.submit('echo', 'free', { group: 'other' })).result()).toBe('free');
    expect(await (await producer.submit('echo', 'plain')).result()).toBe('plain');
    expect(counter.running).toBe(2);
    const queued = await Promise.all(capped.map(async (handle) => (await producer.get(handle.id))!.status));
    expect(queued.filter((status) => status === 'queued')).toHaveLength(4);
    // Each end lets exactly one more go, on whichever host claims it.
    for (let n = 2; n < 6; n++) {
      const [name] = (await counter.reached(n)).slice(n - 2, n - 1);
      counter.open(name!);
      await counter.reached(n + 1);
      expect(counter.running).toBeLessThanOrEqual(2);
    }
    for (const name of await counter.reached(6)) counter.open(name);
    await Promise.all(capped.map((handle) => handle.result()));
    expect(counter.most).toBe(2);
    await closeAll([...hosts, producer]);
  });

  it("a group's rate holds across three hosts: at most count starts in any window of perMs", async () => {
    const database = await freshDatabase();
    const rate = { count: 2, perMs: 300 };
    const hosts = await Promise.all([1, 2, 3].map(() => openRuntime({ database, concurrency: 1, groups: { default: { rate } } })));
    const rated = await hosts[0]!.submitMany(Array.from({ length: 7 }, (_, i) => ({ type: 'echo', payload: i, options: { group: 'rated' } })));
    // Another group has a rate of its own (the default), and is not held by the first's.
    const other = await hosts[1]!.submit('echo', 'other', { group: 'other' });
    expect(await other.result()).toBe('other');
    expect(await Promise.all(rated.map((handle) => handle.result()))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const starts = (await Promise.all(rated.map(async (handle) => (await hosts[2]!.get(handle.id))!.startedAt!))).sort((a, b) => a - b);
    for (let i = rate.count; i < starts.length; i++) {
      expect(starts[i]! - starts[i - rate.count]!, `starts ${i - rate.count} and ${i}: ${starts.join(', ')}`).toBeGreaterThanOrEqual(rate.perMs);
    }
    await closeAll(hosts);
  });

  it('setGroupLimits on one host holds on another, and raising the cap lets a held task go there', async () => {
    const database = await freshDatabase();
    const counter = new RunCounter();
    const producer = await openRuntime({ database, concurrency: 0 });
    const worker = await openRuntime({ database, concurrency: 3, services: counter.services });
    await producer.setGroupLimits('tenant', { concurrency: 1 });
    const first = await producer.submit('gated', { gate: 't1' }, { group: 'tenant' });
    const second = await producer.submit('gated', { gate: 't2' }, { group: 'tenant' });
    expect(await counter.reached(1)).toEqual(['t1']);
    expect(await (await producer.submit('echo', 'free')).result()).toBe('free');
    expect((await producer.get(second.id))?.status).toBe('queued');
    await producer.setGroupLimits('tenant', { concurrency: 2 });
    expect(await counter.reached(2)).toEqual(['t1', 't2']);
    // null lifts the group's own limits (back to the default: none here).
    await producer.setGroupLimits('tenant', null);
    const third = await producer.submit('gated', { gate: 't3' }, { group: 'tenant' });
    expect(await counter.reached(3)).toEqual(['t1', 't2', 't3']);
    for (const gate of ['t1', 't2', 't3']) counter.open(gate);
    await Promise.all([first, second, third].map((handle) => handle.result()));
    expect(() => producer.setGroupLimits('tenant', { concurrency: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    await closeAll([worker, producer]);
  });
});
