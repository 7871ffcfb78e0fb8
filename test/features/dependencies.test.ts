import { describe, expect, it } from 'vitest';
import { Gates, nextEvent, openRuntime, submitAtGate, tempDatabase } from '../helpers.js';

describe('dependencies', () => {
  it('runs a child after all its parents completed, with their results in ctx.dependencies', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const slow = await submitAtGate(rt, { gate: 'g', result: 40 });
    const quick = await rt.submit('add', { a: 1, b: 1 });
    const child = await rt.submit('sumDependencies', null, { dependsOn: [slow.id, quick.id] });
    await quick.result();
    expect((await rt.get(child.id))!.status).toBe('queued'); // still waiting for `slow`
    gates.open('g');
    expect(await child.result()).toBe(42);
    expect((await rt.get(child.id))!.dependsOn).toEqual([slow.id, quick.id]);
    await rt.close();
  });

  it('cancels the children of a failed parent with ERR_DEPENDENCY_FAILED, down the chain', async () => {
    const gates = new Gates();
    const rt = await openRuntime({ services: gates.services });
    const parent = await submitAtGate(rt, { gate: 'g' });
    const child = await rt.submit('noop', null, { dependsOn: [parent.id] });
    const grandchild = await rt.submit('noop', null, { dependsOn: [child.id] });
    await rt.cancel(parent.id);
    for (const handle of [child, grandchild]) {
      await expect(handle.result()).rejects.toMatchObject({ code: 'ERR_TASK_CANCELLED' });
      const task = (await rt.get(handle.id))!;
      expect(task).toMatchObject({ status: 'cancelled', attempts: 0, error: { code: 'ERR_DEPENDENCY_FAILED' } });
    }
    await rt.close();
  });

  it("runs a child with onParentFailure 'run' anyway, telling it which parents failed", async () => {
    const rt = await openRuntime();
    const good = await rt.submit('echo', 'fine');
    const bad = await rt.submit('fail');
    const child = await rt.submit('reportDependencies', null, { dependsOn: [good.id, bad.id], onParentFailure: 'run' });
    expect(await child.result()).toEqual({ dependencies: { [good.id]: 'fine' }, failed: [bad.id] });
    await rt.close();
  });

  it('a parent that already finished counts at once; an unknown parent rejects the submit', async () => {
    const rt = await openRuntime();
    const done = await rt.submit('echo', 5);
    await done.result();
    const child = await rt.submit('sumDependencies', null, { dependsOn: [done.id] });
    expect(await child.result()).toBe(5);
    const failed = await rt.submit('fail');
    await failed.result().catch(() => undefined);
    const doomed = await rt.submit('noop', null, { dependsOn: [failed.id] });
    expect((await rt.get(doomed.id))!.error!.code).toBe('ERR_DEPENDENCY_FAILED');
    await expect(rt.submit('noop', null, { dependsOn: ['no-such-task'] })).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    expect((await rt.stats()).total).toBe(4);
    await rt.close();
  });

  it('keeps waiting across a restart and runs once the parent completes', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database, services: { gate: () => new Promise(() => {}) } });
    const parent = await submitAtGate(first, { gate: 'g', result: 7 });
    const child = await first.submit('sumDependencies', null, { dependsOn: [parent.id] });
    await first.close({ graceful: false });
    const second = await openRuntime({ database, services: { gate: async () => {} } });
    const completed = nextEvent(second.events$, 'completed', child.id);
    await completed;
    expect((await second.get(child.id))!).toMatchObject({ status: 'completed', result: 7 });
    await second.close();
  });
});
