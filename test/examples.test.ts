/**
 * The example handler modules (examples/handlers), each run on real worker threads against
 * temp folders. Every test closes what it opens (openRuntime closes leftovers and fails).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { lastValueFrom, map, toArray } from 'rxjs';
import { nextEvent, openRuntime } from './helpers.js';

const example = (name: string) => new URL(`../dist/examples/handlers/${name}.js`, import.meta.url);

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'offthread-example-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

describe('examples/handlers/codebase-analysis', () => {
  const files = {
    'README.md': '# demo\n\ntext\n',
    'src/a.ts': 'export const a = 1;\n',
    'src/b.ts': 'export const b = 2;\nexport const c = 3;\n',
    'src/deep/c.js': 'console.log(1)\n',
    'LICENSE': 'MIT',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'node_modules/x/index.js': 'ignored\n',
  };

  it('hashes every file, counts per extension, reports progress', async () => {
    const root = tempDir();
    writeTree(root, files);
    const rt = await openRuntime({ handlers: example('codebase-analysis'), concurrency: 1 });
    const handle = await rt.submit<any>('analyzeCodebase', { root, checkpointEvery: 1 });
    // progress$ completes once the task has finished: its last value is the final progress.
    const progressSeen = lastValueFrom(handle.progress$.pipe(map((p) => p.progress), toArray()));
    const report = await handle.result();
    expect(report.files).toBe(5);
    expect(report.hashes['src/b.ts']).toBe(sha256(files['src/b.ts']));
    expect(Object.keys(report.hashes)).not.toContain('.git/HEAD');
    expect(report.byExtension['.ts']).toEqual({ files: 2, bytes: 60, lines: 3 });
    expect(report.byExtension['(none)'].files).toBe(1);
    expect(report.hashedThisRun).toBe(5);
    expect((await progressSeen).at(-1)).toBe(100);
    await rt.close();
  });

  it('goes on from ctx.checkpointState and saves checkpoints as it goes', async () => {
    // The handler itself, with a context that says an earlier run got through two files.
    const { analyzeCodebase } = await import(example('codebase-analysis').href);
    const root = tempDir();
    writeTree(root, files);
    const saved: any[] = [];
    const earlier = { done: 2, byExtension: { '(none)': { files: 1, bytes: 3, lines: 0 }, '.md': { files: 1, bytes: 13, lines: 3 } }, hashes: { LICENSE: sha256('MIT'), 'README.md': sha256(files['README.md']) } };
    const ctx = {
      checkpointState: structuredClone(earlier),
      signal: new AbortController().signal,
      checkpoint: async () => {},
      progress: () => {},
      saveCheckpoint: (state: unknown) => saved.push(structuredClone(state)),
    };
    const report = await analyzeCodebase.handler({ root, checkpointEvery: 1 }, ctx);
    expect(report.hashedThisRun).toBe(3);
    expect(report.files).toBe(5);
    expect(saved.map((s) => s.done)).toEqual([3, 4, 5]);
    const full = createHash('sha256');
    for (const file of Object.keys(report.hashes).sort()) full.update(`${file}\0${report.hashes[file]}\n`);
    expect(report.treeHash).toBe(full.digest('hex'));
  });
});

describe('examples/handlers/batch-files', () => {
  it('gzips each file, reports the ones it could not read, leaves no partial output', async () => {
    const dir = tempDir();
    const inputs = ['one.txt', 'two.txt', 'three.txt'].map((name, i) => {
      const path = join(dir, name);
      writeFileSync(path, `${name}\n`.repeat(100 * (i + 1)));
      return path;
    });
    const outDir = join(dir, 'out');
    const rt = await openRuntime({ handlers: example('batch-files'), concurrency: 1 });
    const result = await (await rt.submit<any>('gzipFiles', { files: [...inputs, join(dir, 'missing.txt')], outDir })).result();
    expect(result.written).toHaveLength(3);
    expect(result.failed).toEqual([{ file: join(dir, 'missing.txt'), error: expect.stringContaining('ENOENT') }]);
    expect(gunzipSync(readFileSync(join(outDir, 'two.txt.gz'))).toString()).toBe('two.txt\n'.repeat(200));
    expect(readdirSync(outDir).sort()).toEqual(['one.txt.gz', 'three.txt.gz', 'two.txt.gz']);
    await rt.close();
  });
});

describe('examples/handlers/io-sync', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  /** A server for a manifest of files, plus `hang.bin`: headers and a first chunk, then nothing. */
  async function serve(files: Record<string, string>, onHang?: (res: ServerResponse) => void): Promise<string> {
    const manifest = Object.entries(files).map(([path, content]) => ({ path, size: Buffer.byteLength(content), sha256: sha256(content) }));
    if (onHang) manifest.push({ path: 'hang.bin', size: 1000, sha256: 'never' });
    server = createServer((req, res) => {
      const path = decodeURIComponent(req.url!.slice(1));
      if (path === 'manifest.json') return res.end(JSON.stringify(manifest));
      if (path === 'hang.bin' && onHang) {
        res.writeHead(200, { 'content-length': '1000' });
        res.write(Buffer.alloc(10));
        return onHang(res);
      }
      if (path in files) return res.end(files[path]);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('downloads what is missing or different, skips the rest', async () => {
    const files = { 'a.txt': 'alpha', 'sub/b.txt': 'beta', 'sub/c d.txt': 'gamma' };
    const base = await serve(files);
    const target = tempDir();
    writeTree(target, { 'a.txt': 'alpha', 'sub/b.txt': 'stale' });
    const rt = await openRuntime({ handlers: example('io-sync'), concurrency: 1 });
    const first = await (await rt.submit<any>('syncFromServer', { base, target })).result();
    expect(first.skipped).toEqual(['a.txt']);
    expect(first.downloaded).toEqual(['sub/b.txt', 'sub/c d.txt']);
    expect(readFileSync(join(target, 'sub/b.txt'), 'utf8')).toBe('beta');
    const second = await (await rt.submit<any>('syncFromServer', { base, target })).result();
    expect(second.downloaded).toEqual([]);
    await rt.close();
  });

  it('a cancel aborts a download in flight through ctx.signal (no thread termination needed)', async () => {
    let hanging!: () => void;
    const requested = new Promise<void>((resolve) => (hanging = resolve));
    let closedByClient!: () => void;
    const aborted = new Promise<void>((resolve) => (closedByClient = resolve));
    const base = await serve({ 'a.txt': 'alpha' }, (res) => {
      res.on('close', () => closedByClient());
      hanging();
    });
    const target = tempDir();
    // A grace far beyond the test timeout: cancel() can only resolve if the handler stops by itself.
    const rt = await openRuntime({ handlers: example('io-sync'), concurrency: 1, cancelGraceMs: 600_000 });
    const handle = await rt.submit('syncFromServer', { base, target });
    const cancelled = nextEvent(rt.events$, 'cancelled', handle.id);
    await requested;
    await rt.cancel(handle.id);
    await cancelled;
    await aborted;
    expect((await rt.get(handle.id))?.status).toBe('cancelled');
    expect(existsSync(join(target, 'a.txt'))).toBe(true);
    expect(existsSync(join(target, 'hang.bin.partial'))).toBe(false);
    await rt.close();
  });
});

describe('examples/handlers/indexer', () => {
  it('indexes words to files and lines, and search() finds them', async () => {
    const root = tempDir();
    writeTree(root, {
      'guide.md': '# Worker threads\nRun tasks on worker threads.\n',
      'notes/todo.txt': 'pause and resume\ncancel a task\n',
      'code.ts': 'threads are not indexed here\n',
    });
    const output = join(tempDir(), 'index.json');
    const rt = await openRuntime({ handlers: example('indexer'), concurrency: 1 });
    const result = await (await rt.submit<any>('buildIndex', { root, output })).result();
    expect(result).toMatchObject({ output, files: 2 });
    const { search } = await import(example('indexer').href);
    const index = JSON.parse(readFileSync(output, 'utf8'));
    expect(index.threads).toEqual({ 'guide.md': [1, 2] });
    expect(search(index, 'worker threads')).toEqual({ 'guide.md': [1, 2] });
    expect(search(index, 'task')).toEqual({ 'notes/todo.txt': [2] });
    expect(search(index, 'nowhere')).toEqual({});
    await rt.close();
  });
});
