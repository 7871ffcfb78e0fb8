/**
 * Large payloads kept beside the database (src/store/payload-shelf.ts): real runtimes, real
 * files, the rows read through a second connection.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { openInspector } from 'offthread';
import { SHELF_MIN_BYTES } from '../../src/store/payload-shelf.js';
import { Gates, openRuntime, submitAtGate, tempDatabase } from '../helpers.js';

/** A payload whose encoding is over the shelf's threshold, different for each `seed`. */
function large(seed: number): Uint8Array {
  return new Uint8Array(SHELF_MIN_BYTES + 1000).map((_, i) => (i * 7 + seed) % 251);
}

interface ShelfRow {
  payload: Buffer | null;
  payload_file: string | null;
  result: Buffer | null;
  result_file: string | null;
}

function rowOf(database: string, id: string): ShelfRow {
  const db = new Database(database, { readonly: true });
  try {
    return db.prepare('SELECT payload, payload_file, result, result_file FROM tasks WHERE id = ?').get(id) as ShelfRow;
  } finally {
    db.close();
  }
}

const shelfOf = (database: string): string => `${database}-payloads`;

describe('large payloads beside the database', () => {
  it('are written to a file the row names, run with their task, and read back by get, list and an inspector; small ones stay in their rows', async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1 });
    const payload = large(1);
    const handle = await rt.submit('echo', payload);
    const small = await rt.submit('echo', 'small');
    // Stored before submit resolved: the file holds the payload's encoding, the row names it.
    const row = rowOf(database, handle.id);
    expect(row.payload).toBeNull();
    expect(row.payload_file).not.toBeNull();
    expect(deserialize(readFileSync(`${shelfOf(database)}/${row.payload_file}`))).toEqual(payload);
    // Payloads may hold secrets: only the owner may read them, as the database itself.
    expect(statSync(shelfOf(database)).mode & 0o777).toBe(0o700);
    expect(statSync(`${shelfOf(database)}/${row.payload_file}`).mode & 0o777).toBe(0o600);
    expect(rowOf(database, small.id)).toMatchObject({ payload: expect.any(Buffer), payload_file: null });

    expect(await handle.result()).toEqual(payload);
    expect((await rt.get(handle.id))?.payload).toEqual(payload);
    expect((await rt.list({ status: 'completed' })).find((task) => task.id === handle.id)?.payload).toEqual(payload);
    const inspector = await openInspector(database);
    expect((await inspector.get(handle.id))?.payload).toEqual(payload);
    await inspector.close();
    await small.result();
    await rt.close();
  });

  it('a large result is kept beside the database too, read back after a reopen, and removed with its row', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database, concurrency: 1 });
    const bytes = large(8);
    // echo returns its payload: a large one makes a large result.
    const handle = await first.submit('echo', bytes);
    expect(await handle.result()).toEqual(bytes);
    const small = await first.submit('echo', 'small result');
    await small.result();
    await first.close();
    const row = rowOf(database, handle.id);
    expect(row.result).toBeNull();
    expect(row.result_file).toBe(`r-${handle.id}`);
    expect(deserialize(readFileSync(`${shelfOf(database)}/${row.result_file}`))).toEqual(bytes);
    expect(rowOf(database, small.id)).toMatchObject({ result: expect.any(Buffer), result_file: null });

    // Kept at the reopen (a row names it), read back, and removed with its row.
    const second = await openRuntime({ database, concurrency: 1 });
    expect(readdirSync(shelfOf(database)).sort()).toEqual([row.payload_file, row.result_file].sort());
    expect((await second.get(handle.id))?.result).toEqual(bytes);
    expect(await second.cleanup({ olderThanMs: 0 })).toBe(2);
    expect(readdirSync(shelfOf(database))).toEqual([]);
    await second.close();
  });

  it('a queued task reads its payload back after a restart', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const first = await openRuntime({ database, concurrency: 1, services: gates.services });
    await submitAtGate(first, { gate: 'hold' });
    const payload = large(2);
    const queued = await first.submit('echo', payload);
    await first.close({ graceful: false });

    const second = await openRuntime({ database, concurrency: 1, services: gates.services });
    gates.open('hold');
    const ended = await firstValueFrom(second.events$.pipe(filter((event) => event.type === 'completed' && event.taskId === queued.id)));
    expect(ended).toMatchObject({ result: payload });
    await second.whenIdle();
    await second.close();
  });

  it('cleanup removes the files of the rows it removes; a debounced submit replaces the file; the task runs with the last payload', async () => {
    const database = tempDatabase();
    const gates = new Gates();
    const rt = await openRuntime({ database, concurrency: 1, services: gates.services });
    await submitAtGate(rt, { gate: 'hold' });
    const first = await rt.submit('echo', large(3), { key: 'doc', debounceMs: 0 });
    const firstFile = rowOf(database, first.id).payload_file;
    expect(firstFile).not.toBeNull();
    const second = await rt.submit('echo', large(4), { key: 'doc', debounceMs: 0 });
    expect(second.id).toBe(first.id);
    const secondFile = rowOf(database, first.id).payload_file;
    expect(secondFile).not.toBeNull();
    expect(secondFile).not.toBe(firstFile);
    gates.open('hold');
    expect(await first.result()).toEqual(large(4));
    await rt.whenIdle();
    expect(readdirSync(shelfOf(database))).toEqual(expect.arrayContaining([secondFile]));

    expect(await rt.cleanup({ olderThanMs: 0 })).toBeGreaterThanOrEqual(2);
    // The replaced file was removed after its commit, and the last one with its row.
    expect(readdirSync(shelfOf(database)).filter((name) => name === firstFile || name === secondFile)).toEqual([]);
    await rt.close();
  });

  it('at open, files no row names (a batch that never committed) are removed, and the others kept', async () => {
    const database = tempDatabase();
    const first = await openRuntime({ database, concurrency: 1 });
    const kept = await first.submit('echo', large(5));
    await kept.result();
    await first.close();
    const keptFile = rowOf(database, kept.id).payload_file!;
    writeFileSync(`${shelfOf(database)}/987654`, 'written for a row that was never committed');
    writeFileSync(`${shelfOf(database)}/${keptFile.split('.')[0]}.stale`, 'a replaced payload whose removal was lost');

    const second = await openRuntime({ database, concurrency: 1 });
    // echo's result is its payload: kept beside the row as well.
    expect(readdirSync(shelfOf(database)).sort()).toEqual([keptFile, `r-${kept.id}`].sort());
    expect((await second.get(kept.id))?.payload).toEqual(large(5));
    await second.close();
  });

  it('in memory, a large payload is kept beside the rows as well, and read back', async () => {
    const rt = await openRuntime({ concurrency: 1 });
    const payload = large(6);
    const handle = await rt.submit('echo', payload);
    expect(await handle.result()).toEqual(payload);
    expect((await rt.get(handle.id))?.payload).toEqual(payload);
    await rt.close();
  });

  it("with durability 'full', files are synced before the rows that name them are committed", async () => {
    const database = tempDatabase();
    const rt = await openRuntime({ database, concurrency: 1, durability: 'full' });
    const handles = await rt.submitMany([1, 2, 3].map((seed) => ({ type: 'echo', payload: large(seed) })));
    for (const [i, handle] of handles.entries()) expect(await handle.result()).toEqual(large(i + 1));
    // Three payloads, and three results (echo's result is its payload).
    expect(readdirSync(shelfOf(database))).toHaveLength(6);
    await rt.close();
  });

  it('a shelf that cannot be written keeps the task waiting, says so through health$ with ERR_STORE_IO, and writes it once it can', async () => {
    const database = tempDatabase();
    // A file where the directory should be: mkdir fails, as a broken disk would.
    writeFileSync(shelfOf(database), 'in the way');
    const rt = await openRuntime({ database, concurrency: 1 });
    const failing = firstValueFrom(rt.health$.pipe(filter((state) => state.status === 'failing')));
    const submitted = rt.submit('echo', large(7));
    expect(await failing).toMatchObject({ error: { code: 'ERR_STORE_IO' } });
    const ok = firstValueFrom(rt.health$.pipe(filter((state) => state.status === 'ok')));
    // The disk is mended: the waiting write goes through by itself.
    rmSync(shelfOf(database));
    mkdirSync(shelfOf(database));
    const handle = await submitted;
    await ok;
    expect(await handle.result()).toEqual(large(7));
    expect(existsSync(`${shelfOf(database)}/${rowOf(database, handle.id).payload_file}`)).toBe(true);
    await rt.close();
  });
});
