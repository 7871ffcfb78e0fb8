/**
 * A host process whose PostgreSQL server stops and starts again under it. The server is
 * the test's own (test/shared/own-postgres.ts): the run's server is shared by every file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime } from '../helpers.js';
import { Completions, killHosts, QueueHost, RunLog, watching } from './hosts.js';
import { startOwnPostgres, type OwnPostgres } from './own-postgres.js';

const HANDLERS = new URL('../fixtures/queue-handlers.js', import.meta.url);

let server: OwnPostgres | undefined;
afterEach(async () => {
  await killHosts();
  await server?.destroy();
  server = undefined;
});

describe('a host of a shared queue while its server is away', () => {
  it('loses no task, refuses submits meanwhile with ERR_STORE_UNAVAILABLE, and goes on once the server is back, without a restart', { timeout: 60_000 }, async () => {
    server = await startOwnPostgres();
    const database = server.url();
    // The outage (about a second) is far shorter than the lease: nothing is taken back, so
    // nothing may run twice.
    const host = await QueueHost.start({ database, name: 'a', concurrency: 2, leaseMs: 10_000 });
    const log = new RunLog();
    log.follow(host);
    const completions = new Completions();
    completions.follow(host);
    const before = await host.submit(Array.from({ length: 40 }, () => ({ type: 'logged', payload: { ms: 100 } })));
    // Stopped mid-run: some have run, two run now, more wait.
    await watching(host.waitFor(() => host.runs().length >= 4), [host], log);
    await server.stop();

    // Not stored while the server is away, and the caller is told so.
    await expect(host.submit([{ type: 'logged', payload: { label: 'refused' } }])).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });

    // The host hears of it once, as soon as something it does with the store fails.
    await watching(host.waitFor(() => host.lines.includes('health failing ERR_STORE_UNAVAILABLE')), [host], log);

    await server.start();
    // The same runtime, never reopened, takes submits again and runs everything.
    const after = await host.submit(Array.from({ length: 5 }, () => ({ type: 'logged', payload: { ms: 10 } })));
    await watching(completions.waitAll([...before, ...after]), [host], log);
    const lastHealth = (): string | undefined => host.lines.filter((line) => line.startsWith('health ')).at(-1);
    await watching(host.waitFor(() => lastHealth() === 'health ok'), [host], log);
    await host.close();
    // One episode: ok at open, failing while the server was away, ok again.
    expect(host.lines.filter((line) => line.startsWith('health '))).toEqual(['health ok', 'health failing ERR_STORE_UNAVAILABLE', 'health ok']);
    expect(host.lines.filter((line) => line.startsWith('ready '))).toHaveLength(1);

    const producer = await openRuntime({ database, handlers: HANDLERS, concurrency: 0 });
    expect(await producer.stats()).toMatchObject({ total: 45, completed: 45 });
    const rows = await producer.list({ limit: 100 });
    expect(rows.map((row) => row.id).sort()).toEqual([...before, ...after].sort());
    for (const row of rows) expect({ id: row.id, attempts: row.attempts, result: row.result }).toEqual({ id: row.id, attempts: 1, result: 'a' });
    // Each ran once by the handlers' own log, and the refused one never.
    expect([...log.byId.keys()].sort()).toEqual([...before, ...after].sort());
    expect([...log.byId.values()].every((runs) => runs.length === 1)).toBe(true);
    await producer.close();
  });
});
