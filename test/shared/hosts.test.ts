/**
 * A queue on PostgreSQL shared by real host processes (test/fixtures/queue-host.js): tasks
 * are split between them and each runs once, a killed host's tasks go to the others once
 * its lease lapses, and a producer-only host follows and steers a task another host runs.
 * (test/shared/one-queue.test.ts has runtimes of one process on one queue.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { filter, firstValueFrom, map, toArray } from 'rxjs';
import { nextEvent, openRuntime } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';
import { Completions, killHosts, parseRun, QueueHost, RunLog, watching, type Run } from './hosts.js';

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
    await producer.close();
    const ready = host.lines.findIndex((line) => line.startsWith('ready '));
    const early = host.lines.slice(0, ready).filter((line) => line.startsWith('ran '));
    expect(early, 'handlers that began before open() resolved').toEqual([]);
  });

  it('a host SIGKILLed mid-run, three times: every task completes, what it held runs on the others once its lease lapses, nothing else runs twice', { timeout: 60_000 }, async () => {
    const LEASE_MS = 1000;
    const TASKS = 1200;
    const database = await freshDatabase();
    const producer = await openRuntime({ database, handlers: HANDLERS, concurrency: 0 });
    // 40 ms each, 6 threads: the work outlasts the three rounds of kills.
    const ids = (await producer.submitMany(Array.from({ length: TASKS }, () => ({ type: 'logged', payload: { ms: 40 } })))).map((handle) => handle.id);
    // Reads the leases: which tasks a host still held when it was killed.
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      const everyHost: QueueHost[] = [];
      const completions = new Completions();
      let serial = 0;
      const startHost = async (): Promise<QueueHost> => {
        const host = await QueueHost.start({ database, name: `h${++serial}`, concurrency: 2, leaseMs: LEASE_MS, reportOwner: true });
        everyHost.push(host);
        completions.follow(host);
        return host;
      };
      let live: QueueHost[] = await Promise.all([startHost(), startHost(), startHost()]);

      const kills: Array<{ host: string; at: number; held: Map<string, string> }> = [];
      for (let round = 0; round < 3; round++) {
        const victim = live[0]!;
        const owner = (await watching(victim.waitFor((line) => line.startsWith('owner ')), live)).split(' ')[1]!;
        await watching(victim.waitFor((line) => line.startsWith('ran ') && victim.runs().length >= 3), live);
        // Killed as a handler begins: that run is under way.
        await watching(victim.waitFor((line) => line.startsWith('ran '), victim.lines.length), live);
        const at = Date.now();
        await victim.kill();
        const { rows } = await client.query<{ id: string; status: string }>(
          "SELECT id, status FROM offthread.tasks WHERE lease_owner = $1 AND status NOT IN ('completed', 'failed', 'cancelled')",
          [owner],
        );
        const held = new Map(rows.map((row) => [row.id, row.status]));
        kills.push({ host: victim.name, at, held });
        expect(held.size, `tasks ${victim.name} held when it was killed`).toBeGreaterThan(0);
        const survivors = live.slice(1).map((host) => ({ host, from: host.lines.length }));
        live = [...live.slice(1), await startHost()];
        // Its lease lapses, and a live host runs one of its tasks again.
        const runsHeld = (line: string) => held.has(parseRun(line)?.id ?? '');
        await watching(Promise.any([...survivors.map(({ host, from }) => host.waitFor(runsHeld, from)), live.at(-1)!.waitFor(runsHeld)]), live);
      }

      // No host is killed any more: what was not reported done, nor committed before its host
      // was killed, is run by the live hosts, which report it.
      const committed = new Set((await producer.list({ status: 'completed', limit: TASKS })).map((task) => task.id));
      await watching(completions.waitAll(ids.filter((id) => !committed.has(id))), live);
      for (const host of live) await host.close();

      const rows = await producer.list({ limit: TASKS });
      expect(rows).toHaveLength(TASKS);
      expect(rows.filter((row) => row.status !== 'completed').map((row) => `${row.id} ${row.status}`)).toEqual([]);
      const byId = runsById(everyHost);
      const killOf = new Map(kills.map((kill) => [kill.host, kill]));
      let again = 0;
      for (const row of rows) {
        const runs = byId.get(row.id) ?? [];
        expect(runs.length, `runs of ${row.id}`).toBeGreaterThan(0);
        // The last run is the one that completed it: its result names the host.
        expect(row.result, `the host that completed ${row.id}`).toBe(runs.at(-1)!.host);
        // A task runs again only if a host was killed while it held it.
        for (const run of runs.slice(0, -1)) {
          const kill = killOf.get(run.host);
          expect(kill !== undefined && kill.held.has(row.id) && run.at <= kill.at, `${row.id} ran on ${run.host} and again`).toBe(true);
        }
        again += runs.length - 1;
      }
      // Re-executions: at most what the killed hosts held (claimed and not finished), and the
      // kills did interrupt work.
      expect(again).toBeGreaterThan(0);
      expect(again).toBeLessThanOrEqual(kills.reduce((sum, kill) => sum + kill.held.size, 0));
      for (const kill of kills) {
        for (const [id, status] of kill.held) {
          const last = byId.get(id)!.at(-1)!;
          // Its end was being committed as the host died: the server finishes a dead client's
          // COMMIT, and may do so after the read of `held` above. Then it ran once, there.
          if (last.host === kill.host && last.at <= kill.at && byId.get(id)!.length === 1) continue;
          // Finished by another host, which could take it only once the lease had lapsed: the
          // last renewal was at most a third of the lease before the kill.
          expect(last.host, `the host that finished ${id} after ${kill.host} was killed`).not.toBe(kill.host);
          expect(last.at - kill.at, `ms from the kill of ${kill.host} to the run of ${id} elsewhere`).toBeGreaterThanOrEqual(LEASE_MS / 3);
          // A run under way keeps its counted attempt: the next one is a later attempt.
          if (status === 'running') expect(last.attempt, `attempt of ${id} run again`).toBeGreaterThan(1);
        }
      }
    } finally {
      await client.end();
    }
    await producer.close();
  });

  it('a task submitted on a producer-only host runs on another; result(), progress$, pause, resume and cancel act on it from the producer', { timeout: 30_000 }, async () => {
    const database = await freshDatabase();
    const hosts = await Promise.all(['a', 'b'].map((name) => QueueHost.start({ database, name, concurrency: 1 })));
    const producer = await openRuntime({ database, handlers: HANDLERS, concurrency: 0 });
    const atStep = (id: string, step: number) => (line: string) => line === `step ${id} ${step}`;
    /** The host whose task waits at the step: the one that runs it. */
    const holderOf = (id: string, step: number) => watching(Promise.any(hosts.map((host) => host.waitFor(atStep(id, step)).then(() => host))), hosts);

    const STEPS = 10;
    const handle = await producer.submit<{ host: string; steps: number }>('stepper', { steps: STEPS });
    // Every progress the producer sees, until the stream completes at the task's end.
    const progressSeen = firstValueFrom(handle.progress$.pipe(map(({ progress }) => progress), toArray()));
    progressSeen.catch(() => undefined);
    const holder = await holderOf(handle.id, 1);
    // Progress reported on the holder reaches the producer.
    await watching(firstValueFrom(handle.progress$.pipe(filter(({ progress }) => progress >= 10))), hosts);

    // Pause from the producer. The call resolves once the command is sent; the holder
    // pauses the task at the first checkpoint after it arrives. A message sent after it
    // travels the same way (a notification on the control channel, in order), so once the
    // handler has read it the pause is set, and the step let go now ends at a pause.
    const paused = nextEvent(producer.events$, 'paused', handle.id);
    paused.catch(() => undefined); // (rejects if the producer closes first: awaited below)
    await producer.pause(handle.id);
    await producer.send(handle.id, 'after-pause');
    await watching(holder.waitFor((line) => line === `heard ${handle.id} after-pause`), hosts);
    const step = 1;
    await holder.openGate(handle.id, step);
    const next = await watching(holder.waitFor((line) => line === `event paused ${handle.id}` || line === `step ${handle.id} ${step + 1}`), hosts);
    expect(next, 'the pause took effect at the first checkpoint after it arrived').toBe(`event paused ${handle.id}`);
    await watching(paused, hosts);
    expect((await producer.get(handle.id))?.status).toBe('paused');
    const resumed = nextEvent(producer.events$, 'resumed', handle.id);
    resumed.catch(() => undefined);
    await producer.resume(handle.id);
    await watching(resumed, hosts);
    await watching(holder.waitFor(atStep(handle.id, step + 1)), hosts);
    // It really stopped: on the holder, the next step began only after the resume.
    const index = (line: string) => holder.lines.indexOf(line);
    expect(index(`event paused ${handle.id}`)).toBeGreaterThan(index(`step ${handle.id} ${step}`));
    expect(index(`event resumed ${handle.id}`)).toBeGreaterThan(index(`event paused ${handle.id}`));
    expect(index(`step ${handle.id} ${step + 1}`)).toBeGreaterThan(index(`event resumed ${handle.id}`));
    for (let later = step + 1; later <= STEPS; later++) {
      await holder.openGate(handle.id, later);
      if (later < STEPS) await watching(holder.waitFor(atStep(handle.id, later + 1)), hosts);
    }
    expect(await watching(handle.result(), hosts)).toEqual({ host: holder.name, steps: STEPS });
    expect(await producer.get(handle.id)).toMatchObject({ status: 'completed', attempts: 1, progress: 100 });
    const progress = await watching(progressSeen, hosts);
    expect(progress.at(-1)).toBe(100);
    expect(progress.some((value) => value >= 10 && value < 100)).toBe(true);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(hosts.flatMap((host) => host.runs()).filter((run) => run.id === handle.id)).toHaveLength(1);

    // Cancel from the producer: the task, waiting in its first step, ends cancelled.
    const doomed = await producer.submit('stepper', { steps: 3 });
    const holder2 = await holderOf(doomed.id, 1);
    await producer.cancel(doomed.id);
    await expect(watching(doomed.result(), hosts)).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    expect((await producer.get(doomed.id))?.status).toBe('cancelled');
    await watching(holder2.waitFor((line) => line === `event cancelled ${doomed.id}`), hosts);
    expect(holder2.lines).not.toContain(`step ${doomed.id} 2`);

    for (const host of hosts) await host.close();
    await producer.close();
  });

  it('a producer-only host process submits, pauses, resumes and cancels a task a host process runs', { timeout: 30_000 }, async () => {
    const database = await freshDatabase();
    const worker = await QueueHost.start({ database, name: 'w', concurrency: 1 });
    const producer = await QueueHost.start({ database, name: 'p', concurrency: 0 });
    const hosts = [worker, producer];
    const STEPS = 6;
    const [id] = await producer.submit([{ type: 'stepper', payload: { steps: STEPS } }]);
    await watching(worker.waitFor((line) => line === `step ${id} 1`), hosts);

    // As in the test above: a message sent after the pause tells when it has reached the worker.
    await producer.request({ cmd: 'pause', id });
    await producer.request({ cmd: 'send', id, message: 'after-pause' });
    await watching(worker.waitFor((line) => line === `heard ${id} after-pause`), hosts);
    const step = 1;
    await worker.openGate(id!, step);
    const next = await watching(worker.waitFor((line) => line === `event paused ${id}` || line === `step ${id} ${step + 1}`), hosts);
    expect(next, 'the pause took effect at the first checkpoint after it arrived').toBe(`event paused ${id}`);
    // The producer hears of it from the worker.
    await watching(producer.waitFor((line) => line === `event paused ${id}`), hosts);
    await producer.request({ cmd: 'resume', id });
    await watching(worker.waitFor((line) => line === `step ${id} ${step + 1}`), hosts);
    expect(worker.lines.indexOf(`step ${id} ${step + 1}`)).toBeGreaterThan(worker.lines.indexOf(`event resumed ${id}`));
    await watching(producer.waitFor((line) => line === `event resumed ${id}`), hosts);

    await producer.request({ cmd: 'cancel', id });
    await watching(worker.waitFor((line) => line === `event cancelled ${id}`), hosts);
    await watching(producer.waitFor((line) => line === `event cancelled ${id}`), hosts);
    expect(worker.lines).not.toContain(`step ${id} ${step + 2}`);
    expect(producer.runs()).toEqual([]);
    for (const host of hosts) await host.close();

    const reader = await openRuntime({ database, handlers: HANDLERS, concurrency: 0 });
    expect(await reader.get(id!)).toMatchObject({ status: 'cancelled', attempts: 1, error: { code: 'ERR_TASK_CANCELLED' } });
    await reader.close();
  });
});
