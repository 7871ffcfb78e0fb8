/**
 * `output$` of a task that runs on another host of one PostgreSQL queue: every value, in
 * order, then the end; back-pressure from the reading host to the handler; values larger
 * than a NOTIFY. The readers here do not run the task (concurrency 0, or another process).
 */
import { describe, expect, it } from 'vitest';
import { lastValueFrom, take, toArray, type Observable } from 'rxjs';
import pg from 'pg';
import { Gates, openRuntime } from '../helpers.js';
import { freshDatabase } from '../pg/server.js';
import { QueueHost, watching } from './hosts.js';

const all = <T>(values$: Observable<T>) => lastValueFrom(values$.pipe(toArray()), { defaultValue: [] as T[] });

/** Marks a handler sends (service `mark`), and promises of those still to come. */
class Marks {
  readonly log: string[] = [];
  readonly #waiting = new Map<string, () => void>();
  readonly services = {
    mark: (what: string) => {
      this.log.push(what);
      this.#waiting.get(what)?.();
    },
  };

  next(what: string): Promise<void> {
    if (this.log.includes(what)) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.set(what, resolve));
  }
}

describe('output$ across the hosts of one PostgreSQL queue', () => {
  it('a host that does not run the task gets every value in order, then the end', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('streamer', { count: 2000 });
    expect(await all(handle.output$)).toEqual(Array.from({ length: 2000 }, (_, i) => ({ i })));
    expect(await handle.result()).toBe(2000);
    // By id too; what waited went to the first reader, so a later one sees the end only.
    expect(await all(reader.output$(handle.id))).toEqual([]);
    await reader.close();
    await worker.close();
  });

  it('subscribed before any host claims the task, the reader gets it from the host that claims it later', async () => {
    const database = await freshDatabase();
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('streamer', { count: 300 });
    const values = all(reader.output$(handle.id));
    // The task is queued, held by no host, until this one opens.
    expect((await reader.get(handle.id))?.status).toBe('queued');
    const worker = await openRuntime({ database, concurrency: 1 });
    expect(await values).toEqual(Array.from({ length: 300 }, (_, i) => ({ i })));
    await reader.close();
    await worker.close();
  });

  it('errors with the failure after the values emitted before it', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('streamer', { count: 5, failAfter: 3 });
    const values: unknown[] = [];
    const error = await new Promise((resolve) => handle.output$.subscribe({ next: (v) => values.push(v), error: resolve }));
    expect(values).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED' });
    await reader.close();
    await worker.close();
  });

  it('a task cancelled while queued ends its reader with ERR_TASK_CANCELLED', async () => {
    const database = await freshDatabase();
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('streamer', { count: 5 });
    const ended = all(handle.output$).catch((error: unknown) => error);
    await reader.cancel(handle.id);
    expect(await ended).toMatchObject({ code: 'ERR_TASK_CANCELLED' });
    await reader.close();
  });

  it('carries values larger than a NOTIFY payload, split into pieces, among small ones', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const reader = await openRuntime({ database, concurrency: 0 });
    const sizes = [1, 7_999, 8_000, 20_000, 3, 1_000_000, 5];
    const handle = await reader.submit('sizedStreamer', { sizes });
    const values = (await all(handle.output$)) as string[];
    expect(values.map((value) => value.length)).toEqual(sizes);
    expect(values.map((value) => value[0])).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(values[5]).toBe('f'.repeat(1_000_000));
    await reader.close();
    await worker.close();
  });

  it('a value that cannot travel between hosts (a SharedArrayBuffer) ends the reader with ERR_NOT_CLONEABLE, after the values before it', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('sharedEmitter');
    const values: unknown[] = [];
    const error = await new Promise((resolve) => handle.output$.subscribe({ next: (v) => values.push(v), error: resolve }));
    expect(values).toEqual([{ i: 0 }]);
    expect(error).toMatchObject({ code: 'ERR_NOT_CLONEABLE' });
    expect(await handle.result()).toBe('done');
    await reader.close();
    await worker.close();
  });

  it('holds the handler at ctx.emit until a reader on another host subscribes and reads', async () => {
    const database = await freshDatabase();
    const marks = new Marks();
    const worker = await openRuntime({ database, concurrency: 1, services: marks.services });
    const reader = await openRuntime({ database, concurrency: 0 });
    const calling63 = marks.next('calling 63');
    const handle = await reader.submit('watchedStreamer', { count: 200, watch: [62, 63] });
    await calling63;
    // Three round trips through the handler's thread, by messages from the reading host:
    // an emit that did not wait would have let it say so by now.
    for (const ping of ['1', '2', '3']) {
      const pong = marks.next(`pong ${ping}`);
      await reader.send(handle.id, ping);
      await pong;
    }
    marks.log.push('subscribed');
    expect(await all(reader.output$(handle.id))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(marks.log).toEqual(['calling 62', 'passed 62', 'calling 63', 'pong 1', 'pong 2', 'pong 3', 'subscribed', 'passed 63']);
    await reader.close();
    await worker.close();
  });

  it('a reader that unsubscribes releases its interest: the handler waits for the next reader, as on one host', async () => {
    const database = await freshDatabase();
    const worker = await openRuntime({ database, concurrency: 1 });
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('streamer', { count: 1000 });
    expect(await all(handle.output$.pipe(take(10)))).toEqual(Array.from({ length: 10 }, (_, i) => ({ i })));
    // The first reader's forwarder is gone (or the handler would wait for its room for
    // ever): what comes now waits for the next reader, who gets it all, to the last. Values
    // already on their way to the first reader when it left are not handed to it again.
    const rest = (await all(reader.output$(handle.id))) as Array<{ i: number }>;
    expect(rest.length).toBeGreaterThan(0);
    const first = rest[0]!.i;
    expect(first).toBeGreaterThanOrEqual(10);
    expect(rest).toEqual(Array.from({ length: 1000 - first }, (_, k) => ({ i: first + k })));
    expect(await handle.result()).toBe(1000);
    await reader.close();
    await worker.close();
  });

  it("a reader whose host's LISTEN connection is cut errors with ERR_OUTPUT_LOST: values on their way may be lost", async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    const worker = await openRuntime({ database, concurrency: 1, services: { mark: () => undefined, ...gates.services } });
    const reader = await openRuntime({ database, concurrency: 0 });
    const handle = await reader.submit('watchedStreamer', { count: 200, watch: [], gate: 'go' });
    const ended = new Promise((resolve) => handle.output$.subscribe({ error: resolve, complete: () => resolve('completed') }));
    await gates.reached('go');
    // Every host's LISTEN connection (the server ends them; each comes back by itself).
    const admin = new pg.Client({ connectionString: database });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
    } finally {
      await admin.end();
    }
    expect(await ended).toMatchObject({ code: 'ERR_OUTPUT_LOST' });
    gates.open('go');
    // The first reader's forwarder stops (told by the reading's end, or by the reading host
    // when it sends to a reading that is over): what comes next waits for the next reader,
    // who gets it all, to the last; what went to the first reader is not handed again.
    const rest = (await all(reader.output$(handle.id))) as number[];
    expect(rest).toEqual(Array.from({ length: rest.length }, (_, k) => 200 - rest.length + k));
    expect(await handle.result()).toBe(200);
    await reader.close();
    await worker.close();
  });

  it("a reader whose task's host dies gets the next run's values from the host that takes the task over, then its end", { timeout: 60_000 }, async () => {
    const database = await freshDatabase();
    const first = await QueueHost.start({ database, name: 'first', concurrency: 1, leaseMs: 1000 });
    const reader = await openRuntime({ database, concurrency: 0 });
    const [id] = await first.submit([{ type: 'emitter', payload: { count: 5, holdOn: 'first' } }]);
    const values: Array<{ host: string; i: number }> = [];
    let fiveCame!: () => void;
    const five = new Promise<void>((resolve) => (fiveCame = resolve));
    const ended = new Promise<void>((resolve, reject) =>
      reader.output$(id!).subscribe({
        next: (value) => {
          values.push(value as { host: string; i: number });
          if (values.length === 5) fiveCame();
        },
        complete: resolve,
        error: reject,
      }),
    );
    // The first run's values came; it waits at its step, and its host dies there.
    await watching(five, [first]);
    await first.kill();
    // Its lease lapses; the next host runs it again, from the start, and its values follow.
    const next = await QueueHost.start({ database, name: 'next', concurrency: 1, leaseMs: 1000 });
    await watching(ended, [next]);
    expect(values).toEqual([...Array.from({ length: 5 }, (_, i) => ({ host: 'first', i })), ...Array.from({ length: 5 }, (_, i) => ({ host: 'next', i }))]);
    expect(await reader.get(id!)).toMatchObject({ status: 'completed', result: 'next' });
    await reader.close();
    await next.close();
  });

  it("a reader whose host dies releases the handler, which then waits for the next reader, as on one host", { timeout: 60_000 }, async () => {
    const database = await freshDatabase();
    const gates = new Gates();
    // Leases renewed every third of a second: the dead reader's host is looked for then.
    const worker = await openRuntime({ database, concurrency: 1, leaseMs: 1000, services: { mark: () => undefined, ...gates.services } });
    const doomed = await QueueHost.start({ database, name: 'doomed', concurrency: 0 });
    const listener = new pg.Client({ connectionString: database });
    await listener.connect();
    try {
      await listener.query('LISTEN offthread_control');
      const handle = await worker.submit('watchedStreamer', { count: 300, watch: [], gate: 'go' });
      const heard = new Promise<void>((resolve) =>
        listener.on('notification', ({ payload = '' }) => payload.includes('"k":"read"') && payload.includes(handle.id) && resolve()),
      );
      await watching(doomed.request({ cmd: 'read', id: handle.id }), [doomed]);
      await heard;
      await gates.reached('go');
      // Its interest was heard; it dies without saying it reads no more.
      await doomed.kill();
      gates.open('go');
      const reader = await openRuntime({ database, concurrency: 0 });
      const rest = (await all(reader.output$(handle.id))) as number[];
      // What the dead host was handed is gone with it; the rest comes here, to the last.
      expect(rest.length).toBeGreaterThan(0);
      expect(rest).toEqual(Array.from({ length: rest.length }, (_, k) => 300 - rest.length + k));
      expect(await handle.result()).toBe(300);
      await reader.close();
    } finally {
      await listener.end();
      await worker.close();
    }
  });

  it('holds the handler while a subscribed reader in another process does not read, and lets it go when it does', async () => {
    const database = await freshDatabase();
    const marks = new Marks();
    const gates = new Gates();
    const worker = await openRuntime({ database, concurrency: 1, services: { ...marks.services, ...gates.services } });
    const readerHost = await QueueHost.start({ database, name: 'reader', concurrency: 0 });
    // The reader's interest, as every host hears it.
    const listener = new pg.Client({ connectionString: database });
    await listener.connect();
    try {
      await listener.query('LISTEN offthread_control');
      const handle = await worker.submit('watchedStreamer', { count: 300, watch: [63], gate: 'go' });
      const heard = new Promise<void>((resolve) =>
        listener.on('notification', ({ payload = '' }) => payload.includes('"k":"read"') && payload.includes(handle.id) && resolve()),
      );
      await watching(readerHost.request({ cmd: 'read', id: handle.id }), [readerHost]);
      await heard;
      await gates.reached('go');
      // The reading host stops: what is sent to it waits in the server, unread.
      readerHost.child.kill('SIGSTOP');
      const calling63 = marks.next('calling 63');
      gates.open('go');
      await calling63;
      for (const ping of ['1', '2', '3']) {
        const pong = marks.next(`pong ${ping}`);
        await worker.send(handle.id, ping);
        await pong;
      }
      marks.log.push('reader goes on');
      readerHost.child.kill('SIGCONT');
      await watching(readerHost.waitFor((line) => line === `output ${handle.id} complete`), [readerHost]);
      const values = readerHost.lines.filter((line) => line.startsWith(`value ${handle.id} `)).map((line) => Number(line.split(' ')[2]));
      expect(values).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(marks.log).toEqual(['calling 63', 'pong 1', 'pong 2', 'pong 3', 'reader goes on', 'passed 63']);
      expect(await handle.result()).toBe(300);
    } finally {
      readerHost.child.kill('SIGCONT');
      await listener.end();
      await readerHost.close();
      await worker.close();
    }
  });
});
