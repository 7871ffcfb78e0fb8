/**
 * A queue on PostgreSQL shared by real host processes (test/fixtures/queue-host.js): tasks
 * are split between them and each runs once, a killed host's tasks go to the others once
 * its lease lapses, and a producer-only host follows and steers a task another host runs.
 * (test/shared/one-queue.test.ts has runtimes of one process on one queue.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Task } from 'offthread';
import { openRuntime } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';
import { Completions, killHosts, QueueHost, RunLog, watching, type Run } from './hosts.js';

const HANDLERS = new URL('../fixtures/queue-handlers.js', import.meta.url);

afterEach(killHosts);

/** Every run the hosts logged, by task id, in the order they began. */
function runsById(hosts: QueueHost[]): Map<string, Run[]> {
  const byId = new Map<string, Run[]>();
  for (const run of hosts.flatMap((host) => host.runs())) {
    const runs = byId.get(run.id) ?? [];
    runs.push(run);
    byId.set(run.id, runs);
  }
  for (const runs of byId.values()) runs.sort((a, b) => a.at - b.at);
  return byId;
}

describe('one queue, several host processes', () => {
  it('three hosts share 3,000 tasks: each runs exactly once, every host runs some, each host takes high before low', { timeout: 60_000 }, async () => {
    const database = await freshDatabase();
    const producer = await openRuntime({ database, handlers: HANDLERS, concurrency: 0 });
    // Submitted before any host runs, lows first: submit order alone would run them first.
    const LOW = 2400;
    const HIGH = 600;
    const items = [
      ...Array.from({ length: LOW }, () => ({ type: 'logged', payload: { ms: 2, label: 'low' }, options: { priority: 'low' as const } })),
      ...Array.from({ length: HIGH }, () => ({ type: 'logged', payload: { ms: 2, label: 'high' }, options: { priority: 'high' as const } })),
    ];
    const ids = (await producer.submitMany(items)).map((handle) => handle.id);
    expect(new Set(ids).size).toBe(LOW + HIGH);

    const completions = new Completions();
    const log = new RunLog();
    // One thread each: a host's runs begin in the order it dispatches them.
    const hosts = await Promise.all(['a', 'b', 'c'].map((name) => QueueHost.start({ database, name, concurrency: 1 })));
    for (const host of hosts) {
      completions.follow(host);
      log.follow(host);
    }
    // Fails at once if a task runs a second time or a host dies.
    await watching(completions.waitAll(ids), hosts, log);
    for (const host of hosts) await host.close();

    // The handlers' own log: each task ran once, on one host.
    const byId = runsById(hosts);
    expect([...byId.keys()].sort()).toEqual([...ids].sort());
    const twice = [...byId.entries()].filter(([, runs]) => runs.length > 1);
    expect(twice.map(([id, runs]) => `${id} on ${runs.map((r) => r.host).join(', ')}`)).toEqual([]);
    for (const host of hosts) expect(host.runs().length, `runs of host ${host.name}`).toBeGreaterThan(0);

    // A claim takes the most urgent ready tasks first, and a host dispatches what it holds
    // most urgent first. So once a host claimed a low task no high one was left unclaimed,
    // and every high task a host got came before its first low one. Across hosts there is
    // no such order (one may still run its last highs while another has begun lows).
    for (const host of hosts) {
      const labels = host.runs().map((run) => run.label);
      const firstLow = labels.indexOf('low');
      const highsAfter = firstLow === -1 ? 0 : labels.slice(firstLow).filter((label) => label === 'high').length;
      expect(highsAfter, `high tasks host ${host.name} began after its first low one`).toBe(0);
    }
    expect(hosts.flatMap((host) => host.runs()).filter((run) => run.label === 'high')).toHaveLength(HIGH);

    // The rows agree: completed, one attempt, with the result of the run the log shows.
    expect(await producer.stats()).toMatchObject({ total: LOW + HIGH, completed: LOW + HIGH });
    const rows = await producer.list({ limit: LOW + HIGH });
    for (const row of rows) {
      const [run] = byId.get(row.id)!;
      expect({ id: row.id, attempts: row.attempts, result: row.result }).toEqual({ id: row.id, attempts: 1, result: run!.host });
    }
    await producer.close();
  });

  it('a host opening on a queue with tasks waiting starts none before open() resolves', async () => {
    // The API promises that tasks picked up at open start just after open() resolves, so
    // that events$ subscribed right after open sees them. The fixture writes `ready` as
    // open() resolves; a handler that began before wrote its `ran` line before that.
    const database = await freshDatabase();
    const producer = await openRuntime({ database, handlers: HANDLERS, concurrency: 0 });
    const ids = (await producer.submitMany(Array.from({ length: 20 }, () => ({ type: 'logged' })))).map((handle) => handle.id);
    const completions = new Completions();
    const host = await QueueHost.start({ database, name: 'a', concurrency: 2 });
    completions.follow(host);
    await watching(completions.waitAll(ids), [host]);
    await host.close();
    const ready = host.lines.findIndex((line) => line.startsWith('ready '));
    const early = host.lines.slice(0, ready).filter((line) => line.startsWith('ran '));
    expect(early, 'handlers that began before open() resolved').toEqual([]);
    await producer.close();
  });
});
