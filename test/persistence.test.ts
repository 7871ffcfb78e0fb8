import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { Gates, nextEvent, openRuntime, tempDatabase, submitAtGate } from './helpers.js';

/** Runs the crash host until it reports, then SIGKILLs it. */
async function crashHost(database: string, count: number): Promise<{ ids: string[]; paused: string }> {
  const child = spawn(process.execPath, [new URL('./fixtures/crash-host.js', import.meta.url).pathname, database, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout! });
    const [line] = (await once(lines, 'line')) as [string];
    return JSON.parse(line);
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
}

describe('persistence', () => {
  it('keeps finished tasks in the file across a close and reopen', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database });
    const handle = await first.submit('add', { a: 1, b: 2 }, { name: 'sum' });
    await handle.result();
    await first.close();
    const second = await openRuntime({ database });
    expect(await second.get(handle.id)).toMatchObject({ name: 'sum', status: 'completed', result: 3 });
    await second.close();
  });

  it('loses no task when the host is killed with SIGKILL mid-run', async () => {
    const database = tempDatabase();
    const { ids, paused } = await crashHost(database, 6);
    const rt = await openRuntime({ database, services: { gate: async () => {} } });
    // Paused stays paused; everything else runs to the end.
    await rt.whenIdle();
    const tasks = await Promise.all(ids.map((id) => rt.get(id)));
    for (const task of tasks) {
      if (task!.id === paused) expect(task!.status).toBe('paused');
      else expect(task!.status).toBe('completed');
    }
    // Two were running when the host died: their first attempt counted, so they ran twice.
    const attempts = tasks.filter((t) => t!.id !== paused).map((t) => t!.attempts).sort();
    expect(attempts).toEqual([1, 1, 1, 2, 2]);
    await rt.resume(paused);
    await rt.whenIdle();
    expect((await rt.get(paused))!.status).toBe('completed');
    expect(await rt.stats()).toMatchObject({ total: 6, completed: 6 });
    await rt.close();
  });

  it('re-queues unfinished tasks in priority order on open', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const first = await openRuntime({ database, concurrency: 1, services: gates.services });
    const started = nextEvent(first.events$, 'started');
    await first.submit('gated', { gate: 'never' });
    await started;
    const order: Array<[string, 'low' | 'normal' | 'high']> = [
      ['a', 'low'],
      ['b', 'high'],
      ['c', 'normal'],
      ['d', 'high'],
    ];
    const names = new Map<string, string>();
    for (const [name, priority] of order) names.set((await first.submit('echo', name, { priority })).id, name);
    await first.close({ graceful: false });

    const second = await openRuntime({ database, concurrency: 1, services: { gate: async () => {} } });
    const seen: string[] = [];
    second.events$.subscribe((e) => e.type === 'completed' && names.has(e.taskId) && seen.push(names.get(e.taskId)!));
    await second.whenIdle();
    expect(seen).toEqual(['b', 'd', 'c', 'a']);
    await second.close();
  });

  it('restores each queued task with its own limits and relations', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const first = await openRuntime({ database, concurrency: 1, services: gates.services });
    await submitAtGate(first, { gate: 'never' }); // holds the only thread: the rest stay queued
    const backoff = { type: 'fixed' as const, delayMs: 5 };
    const plain = await first.submit('echo', 'plain');
    const limited = await first.submit('echo', 'limited', { retries: 2, timeoutMs: 5000 });
    const alsoLimited = await first.submit('echo', 'also', { retries: 2, timeoutMs: 5000 });
    const backingOff = await first.submit('echo', 'backoff', { retries: 1, backoff });
    const keyed = await first.submit('echo', 'keyed', { key: 'k1', onParentFailure: 'run', dependsOn: [plain.id] });
    await first.close({ graceful: false });

    const second = await openRuntime({ database, concurrency: 1, services: gates.services });
    expect(await second.get(plain.id)).toMatchObject({ retries: 0, timeoutMs: null, backoff: null, key: null, dependsOn: [] });
    expect(await second.get(limited.id)).toMatchObject({ retries: 2, timeoutMs: 5000, backoff: null });
    expect(await second.get(alsoLimited.id)).toMatchObject({ retries: 2, timeoutMs: 5000, backoff: null });
    expect(await second.get(backingOff.id)).toMatchObject({ retries: 1, timeoutMs: null, backoff });
    expect(await second.get(keyed.id)).toMatchObject({ key: 'k1', dependsOn: [plain.id], onParentFailure: 'run' });
    // The key still dedupes after the restart.
    expect((await second.submit('echo', 'again', { key: 'k1' })).id).toBe(keyed.id);
    await second.close({ graceful: false });
  });

  it('close({ graceful: true }) lets a running task finish first', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const rt = await openRuntime({ database, services: gates.services });
    const handle = await submitAtGate(rt, { gate: 'g', result: 'finished' });
    const closing = rt.close();
    await expect(rt.submit('noop')).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
    gates.open('g');
    await closing;
    const reopened = await openRuntime({ database });
    expect(await reopened.get(handle.id)).toMatchObject({ status: 'completed', result: 'finished', attempts: 1 });
    await reopened.close();
  });

  it('close({ graceful: false }) interrupts a running task; the next open runs it again', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, services: { gate: () => new Promise(() => {}) } });
    const handle = await submitAtGate(rt, { gate: 'g', result: 'again' });
    const waiting = expect(handle.result()).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
    // A pause waits for the thread's next checkpoint, which never comes: close rejects it too.
    const pausing = expect(rt.pause(handle.id)).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
    await rt.close({ graceful: false });
    await waiting;
    await pausing;
    const reopened = await openRuntime({ database, services: { gate: async () => {} } });
    await reopened.whenIdle();
    expect(await reopened.get(handle.id)).toMatchObject({ status: 'completed', result: 'again', attempts: 2 });
    await reopened.close();
  });

  it('close() is idempotent and every later call rejects with ERR_RUNTIME_CLOSED', async () => {
    const rt = await openRuntime();
    const first = rt.close();
    expect(rt.close()).toBe(first);
    await first;
    for (const call of [() => rt.submit('noop'), () => rt.get('x'), () => rt.list(), () => rt.stats(), () => rt.cancel('x'), () => rt.whenIdle()]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_RUNTIME_CLOSED' });
    }
  });

  it('supports `await using`', async () => {
    let events = 0;
    {
      await using rt = await openRuntime();
      rt.events$.subscribe({ complete: () => events++ });
      await (await rt.submit('noop')).result();
    }
    expect(events).toBe(1); // events$ completed: the runtime was closed on leaving the block
  });
});
