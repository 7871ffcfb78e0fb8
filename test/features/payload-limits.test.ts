import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, TaskFailedError, TaskRuntime } from 'offthread';
import { openRuntime, tempDatabase } from '../helpers.js';

const LIMITED = new URL('../fixtures/limited-handlers.js', import.meta.url);

/** A string payload whose stored encoding is exactly `bytes` long. */
function payloadOf(bytes: number): string {
  // v8's encoding of a one-byte string: a 2-byte header, a tag, a varint length, the characters.
  for (let length = bytes; length > 0; length--) {
    const value = 'p'.repeat(length);
    if (serialize(value).byteLength === bytes) return value;
  }
  throw new Error(`no string encodes to ${bytes} bytes`);
}

describe('maxPayloadBytes', () => {
  it('rejects a payload over the limit with ERR_PAYLOAD_TOO_LARGE, storing nothing', async () => {
    const rt = await openRuntime({ handlers: LIMITED, database: tempDatabase(), maxPayloadBytes: 1000 });
    const before = (await rt.stats()).total;
    const error = await rt.submit('echo', 'x'.repeat(5000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', limit: 1000, size: serialize('x'.repeat(5000)).byteLength });
    const { message } = error as PayloadTooLargeError;
    expect(message).toContain(`${serialize('x'.repeat(5000)).byteLength} bytes`);
    expect(message).toContain('1000 bytes');
    expect(message).toContain('"echo"');
    expect(message).toMatch(/Raise maxPayloadBytes/);
    expect(message).toMatch(/pass a reference/);
    expect((await rt.stats()).total).toBe(before);
    await rt.close();
  });

  it('submitMany with one item over the limit stores none of the batch', async () => {
    const rt = await openRuntime({ handlers: LIMITED, database: tempDatabase(), maxPayloadBytes: 1000 });
    const error = await rt
      .submitMany([
        { type: 'echo', payload: 'a' },
        { type: 'echo', payload: { big: 'x'.repeat(5000) } },
        { type: 'echo', payload: 'c' },
      ])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', limit: 1000 });
    expect((error as Error).message).toContain('items[1]');
    expect((await rt.stats()).total).toBe(0);
    expect(await rt.list()).toEqual([]);
    await rt.close();
  });

  it('a payload exactly at the limit is accepted, one byte over is not', async () => {
    const limit = 10_000; // over the hand-written encoder's range: encoded by v8.serialize()
    const rt = await openRuntime({ handlers: LIMITED, maxPayloadBytes: limit });
    const atLimit = payloadOf(limit);
    const handle = await rt.submit('echo', atLimit);
    expect(await handle.result()).toBe(atLimit);
    await expect(rt.submit('echo', payloadOf(limit + 1))).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE' });
    // A type's own small limit, where small plain payloads are encoded by hand: the same bytes.
    const small = payloadOf(1024);
    expect(await (await rt.submit('small', small)).result()).toBe(small);
    await expect(rt.submit('small', payloadOf(1025))).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', limit: 1024 });
    await rt.close();
  });

  it('fails a task whose result is over the limit with ERR_PAYLOAD_TOO_LARGE; the result is not stored', async () => {
    const rt = await openRuntime({ handlers: LIMITED, database: tempDatabase(), maxPayloadBytes: 1000 });
    const handle = await rt.submit('sized', { size: 5000 });
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', taskError: { code: 'ERR_PAYLOAD_TOO_LARGE' } });
    const task = await rt.get(handle.id);
    expect(task).toMatchObject({ status: 'failed', result: null, error: { code: 'ERR_PAYLOAD_TOO_LARGE' } });
    expect(task!.error!.message).toContain('1000 bytes');
    expect(task!.error!.message).toContain(handle.id);
    // One within the limit still completes, on the same thread.
    expect(await (await rt.submit('sized', { size: 10 })).result()).toBe('x'.repeat(10));
    await rt.close();
  });

  it("a type's own limit wins over the runtime's, smaller or larger", async () => {
    const rt = await openRuntime({ handlers: LIMITED, maxPayloadBytes: 4096 });
    const twoKiB = 'x'.repeat(2048);
    // Within the runtime's limit, over the type's 1 KiB.
    expect(await (await rt.submit('echo', twoKiB)).result()).toBe(twoKiB);
    await expect(rt.submit('small', twoKiB)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', limit: 1024 });
    await expect(rt.submitMany([{ type: 'small', payload: twoKiB }])).rejects.toMatchObject({ limit: 1024 });
    await expect((await rt.submit('smallSized', { size: 2048 })).result()).rejects.toMatchObject({
      taskError: { code: 'ERR_PAYLOAD_TOO_LARGE' },
    });
    // Over the runtime's limit, within the type's 64 KiB: payload and result both pass.
    const tenKiB = 'x'.repeat(10 * 1024);
    await expect(rt.submit('echo', tenKiB)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', limit: 4096 });
    expect(await (await rt.submit('large', tenKiB)).result()).toBe(tenKiB);
    await rt.close();
  });

  it('defaults to 16 MiB', async () => {
    const rt = await openRuntime({ handlers: LIMITED });
    const error = await rt.submit('echo', new Uint8Array(16 * 1024 * 1024)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', limit: 16 * 1024 * 1024 });
    await rt.close();
  });

  it.each([0, -1, 1.5, '1024', Number.POSITIVE_INFINITY])('rejects maxPayloadBytes = %j with ERR_INVALID_OPTION', async (value) => {
    await expect(TaskRuntime.open({ handlers: LIMITED, maxPayloadBytes: value as number })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'maxPayloadBytes',
    });
  });
});
