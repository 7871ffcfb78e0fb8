/**
 * The package as a user gets it: `npm pack` of the built repo (npm test builds first), then
 * `npm install <tarball>` in a new project under the system temp dir, which fetches the
 * dependencies from the registry and builds better-sqlite3's native module. One pack and one
 * install serve every test here; the install is most of the file's time (about a minute,
 * compiling SQLite). The project's scripts import the installed package only: nothing above
 * the temp dir has a node_modules.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/**
 * npm run (npm test) exports its own settings to its children, npm_config_local_prefix among
 * them, which would point the project's npm at this repo. The child gets the environment
 * without those; the user's npm settings (~/.npmrc, npm_config_* given from outside) stay.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    const k = key.toLowerCase();
    if ((k.startsWith('npm_') && !k.startsWith('npm_config_')) || k === 'npm_config_local_prefix' || k === 'init_cwd') {
      delete env[key];
    }
  }
  return env;
}

interface PackResult {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

// Each case starts a process or two (node, npx, tsc); a busy machine slows them, so their
// limit is far above what they take (under 3 s each on an idle core).
const CASE_TIMEOUT = 120_000;

let tmp: string;
let app: string;
let packed: PackResult;

/** Runs a command in the project; one that hangs (a registry that never answers) is killed. */
async function inApp(command: string, args: string[], timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  return run(command, args, { cwd: app, env: userEnv(), maxBuffer: 16 * 1024 * 1024, timeout });
}

async function node(script: string, ...args: string[]): Promise<string> {
  return (await inApp(process.execPath, [script, ...args])).stdout;
}

async function tsc(project: string): Promise<void> {
  // tsc prints its errors to stdout; an error makes this reject with them in its message.
  try {
    await inApp(process.execPath, [TSC, '-p', project]);
  } catch (error) {
    throw new Error(`tsc -p ${project} failed:\n${(error as { stdout: string }).stdout}`);
  }
}

beforeAll(async () => {
  if (!existsSync(join(REPO, 'dist/src/index.js')) || !existsSync(join(REPO, 'dist/cli/offthread.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  tmp = await mkdtemp(join(tmpdir(), 'offthread-pack-'));
  // --ignore-scripts: prepack would rebuild dist/ under the other test files, which load it.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], {
    cwd: REPO,
    env: userEnv(),
  });
  packed = (JSON.parse(stdout) as PackResult[])[0]!;

  app = join(tmp, 'app');
  await mkdir(app);
  // As a user's project: ESM, and better-sqlite3 allowed to build (npm's allowScripts).
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } }),
  );
  await inApp('npm', ['install', '--no-audit', '--no-fund', join(tmp, packed.filename)], 540_000);

  // A handlers module and a host, in ESM and in CommonJS. The host runs one task to its
  // end in the database named by its argument and prints the result and where the package
  // resolved.
  await writeFile(
    join(app, 'handlers.mjs'),
    `import { defineTask } from 'offthread/worker';
export const double = defineTask(async (payload, ctx) => {
  await ctx.checkpoint();
  ctx.progress(50);
  return { n: payload.n * 2 };
});
`,
  );
  await writeFile(
    join(app, 'host.mjs'),
    `import { TaskRuntime } from 'offthread';
const rt = await TaskRuntime.open({ handlers: new URL('./handlers.mjs', import.meta.url), database: process.argv[2], concurrency: 1 });
const handle = await rt.submit('double', { n: 21 }, { name: 'twice 21' });
const result = await handle.result();
const task = await rt.get(handle.id);
await rt.close();
console.log(JSON.stringify({
  result,
  status: task.status,
  resolved: [import.meta.resolve('offthread'), import.meta.resolve('offthread/worker')],
}));
`,
  );
  // The dashboard serves uPlot's files from the installed uplot package, read from disk.
  await writeFile(
    join(app, 'dashboard.mjs'),
    `import { TaskRuntime } from 'offthread';
const rt = await TaskRuntime.open({ handlers: new URL('./handlers.mjs', import.meta.url), database: ':memory:', concurrency: 1 });
const dashboard = await rt.dashboard();
const served = {};
for (const path of ['', 'assets/app.js', 'assets/uplot.esm.js', 'assets/uplot.css']) {
  const response = await fetch(new URL(path, dashboard.url));
  served[path] = { status: response.status, type: response.headers.get('content-type'), length: (await response.text()).length };
}
await rt.close();
console.log(JSON.stringify(served));
`,
  );
  await writeFile(
    join(app, 'handlers.cjs'),
    `const { defineTask } = require('offthread/worker');
exports.double = defineTask(async (payload) => ({ n: payload.n * 2 }));
`,
  );
  await writeFile(
    join(app, 'host.cjs'),
    `const { join } = require('node:path');
const { TaskRuntime } = require('offthread');
(async () => {
  const rt = await TaskRuntime.open({ handlers: join(__dirname, 'handlers.cjs'), database: process.argv[2], concurrency: 1 });
  const handle = await rt.submit('double', { n: 21 });
  const result = await handle.result();
  await rt.close();
  console.log(JSON.stringify({ result, resolved: [require.resolve('offthread'), require.resolve('offthread/worker')] }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`,
  );
}, 600_000);

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the built library and CLI, the README, the LICENSE and package.json, and nothing else', () => {
    const paths = packed.files.map((f) => f.path);
    const stray = paths.filter(
      (p) => !/^(package\.json|README\.md|LICENSE|dist\/src\/.+\.(js|cjs|d\.ts|d\.cts)|dist\/cli\/[^/]+\.js)$/.test(p),
    );
    expect(stray).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/worker.js',
        'dist/src/worker.d.ts',
        // Loaded by path at run time, not imported: the pool's and the checkpointer's threads.
        'dist/src/workers/piscina-entry.cjs',
        'dist/src/store/checkpoint-worker.js',
        'dist/cli/offthread.js',
        'dist/cli/no-task-types.js',
      ]),
    );
  });
});

describe('installed from the tarball', () => {
  it('runs a task from ESM JavaScript, offthread and offthread/worker resolving in the project', async () => {
    const out = JSON.parse(await node('host.mjs', join(tmp, 'esm.db'))) as { result: unknown; status: string; resolved: string[] };
    expect(out.result).toEqual({ n: 42 });
    expect(out.status).toBe('completed');
    const installed = join(app, 'node_modules/offthread/dist/src');
    expect(out.resolved).toEqual([pathToFileURL(join(installed, 'index.js')).href, pathToFileURL(join(installed, 'worker.js')).href]);
  }, CASE_TIMEOUT);

  it('runs its CLI through npx: stats of a database a task ran in', async () => {
    const db = join(tmp, 'cli.db');
    await node('host.mjs', db);
    const table = (await inApp('npx', ['offthread', 'stats', '--db', db])).stdout;
    expect(table).toMatch(/^completed +1$/m);
    expect(table).toMatch(/^total +1$/m);
    const json = JSON.parse((await inApp('npx', ['offthread', 'stats', '--db', db, '--json'])).stdout) as unknown;
    expect(json).toEqual({ total: 1, queued: 0, running: 0, paused: 0, completed: 1, failed: 0, cancelled: 0 });
    // The CLI reads its version from the installed package.json.
    expect((await inApp('npx', ['offthread', '--version'])).stdout.trim()).toBe('0.1.0');
  }, CASE_TIMEOUT);

  it('serves its dashboard, uPlot included', async () => {
    const served = JSON.parse(await node('dashboard.mjs')) as Record<string, { status: number; type: string; length: number }>;
    expect(Object.keys(served)).toEqual(['', 'assets/app.js', 'assets/uplot.esm.js', 'assets/uplot.css']);
    for (const [path, { status, type, length }] of Object.entries(served)) {
      expect({ path, status, type: type.split(';')[0], empty: length === 0 }).toEqual({
        path,
        status: 200,
        type: path === '' ? 'text/html' : path.endsWith('.css') ? 'text/css' : 'text/javascript',
        empty: false,
      });
    }
  }, CASE_TIMEOUT);

  // require() of an ES module graph without top-level await: Node 20.19+ and 22.12+ allow it
  // unflagged, and offthread's graph has none. Older Node rejects it with ERR_REQUIRE_ESM.
  const requireEsm = (process.features as { require_module?: boolean }).require_module === true;

  it.runIf(requireEsm)('runs a task from CommonJS through require(), handlers module included', async () => {
    const out = JSON.parse(await node('host.cjs', join(tmp, 'cjs.db'))) as { result: unknown; resolved: string[] };
    expect(out.result).toEqual({ n: 42 });
    const installed = join(app, 'node_modules/offthread/dist/src');
    expect(out.resolved).toEqual([join(installed, 'index.js'), join(installed, 'worker.js')]);
  }, CASE_TIMEOUT);

  it.skipIf(requireEsm)('rejects require() with ERR_REQUIRE_ESM where Node cannot require ES modules', async () => {
    await expect(node('host.cjs', join(tmp, 'cjs.db'))).rejects.toThrow(/ERR_REQUIRE_ESM/);
  }, CASE_TIMEOUT);

  describe('its types, compiled with tsc (libraries checked too: skipLibCheck false)', () => {
    const compilerOptions = { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] };

    beforeAll(async () => {
      await mkdir(join(app, 'ts'));
      await writeFile(
        join(app, 'ts/handlers.ts'),
        `import { defineTask } from 'offthread/worker';

export const double = defineTask(async (payload: { n: number }, ctx) => {
  await ctx.checkpoint();
  return { n: payload.n * 2 };
});
`,
      );
      await writeFile(
        join(app, 'ts/host.ts'),
        `import { TaskRuntime, type TaskHandle } from 'offthread';
import type * as tasks from './handlers.js';

export async function main(): Promise<number> {
  const rt = await TaskRuntime.open<typeof tasks>({ handlers: new URL('./handlers.js', import.meta.url), database: ':memory:' });
  const handle: TaskHandle<{ n: number }> = await rt.submit('double', { n: 21 });
  // @ts-expect-error: no task type of that name (were the types any, this line would be an error)
  await rt.submit('triple', { n: 21 });
  // @ts-expect-error: the payload's n is a number
  await rt.submit('double', { n: '21' });
  const { n } = await handle.result();
  await rt.close();
  return n;
}
`,
      );
      // CommonJS TypeScript: its imports become require() calls.
      await writeFile(
        join(app, 'ts/host.cts'),
        `import { TaskRuntime } from 'offthread';
import { defineTask } from 'offthread/worker';

export const double = defineTask(async (payload: { n: number }) => ({ n: payload.n * 2 }));

export async function main(): Promise<void> {
  const rt = await TaskRuntime.open({ handlers: __filename, database: ':memory:' });
  await rt.close();
}
`,
      );
    });

    it.each([
      ['node16', { module: 'node16', moduleResolution: 'node16' }, 'host.ts'],
      ['bundler', { module: 'esnext', moduleResolution: 'bundler' }, 'host.ts'],
      ['nodenext, CommonJS', { module: 'nodenext', moduleResolution: 'nodenext' }, 'host.cts'],
    ])('with moduleResolution %s', async (name, resolution, file) => {
      const project = join(app, 'ts', `tsconfig.${name.replace(/\W+/g, '-')}.json`);
      await writeFile(project, JSON.stringify({ compilerOptions: { ...compilerOptions, ...resolution }, files: [file] }));
      await tsc(project);
    }, CASE_TIMEOUT);
  });
});
