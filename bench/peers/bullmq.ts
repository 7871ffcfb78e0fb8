/**
 * BullMQ against its own redis-server on 127.0.0.1, started at setup and stopped at teardown.
 *
 * Redis persistence: the server's defaults (no config file): RDB snapshots at the default save
 * points (3600 s/1 change, 300 s/100, 60 s/10000), no AOF. That is what a plain BullMQ install
 * gets; it is weaker than offthread's file store (a crash loses writes since the last snapshot),
 * so `appendonly: true` (AOF, fsync every second) is offered for a closer like-for-like.
 *
 * Completion is counted from the Worker's own 'completed' event: it fires in this process after
 * the job has been moved to the completed set in Redis (QueueEvents would add a stream round trip).
 * Completed jobs are kept in Redis (BullMQ's default), as offthread keeps its task rows.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Unavailable, type Contender } from '../lib/contender.js';
import { doWork, type Work } from '../lib/work.js';

const PROCESSOR = fileURLToPath(new URL('../workers/bullmq-processor.js', import.meta.url));

export function bullmq({ workerThreads = false, appendonly = false } = {}): Contender {
  let server: RedisServer;
  let queue: Queue<Work>;
  let worker: Worker<Work>;
  // One batch at a time (runMany/runOne are not overlapped): how many completions it still awaits.
  let pending = 0;
  let settle: { resolve(): void; reject(error: Error): void } | undefined;
  const finished = (count: number) =>
    new Promise<void>((resolve, reject) => {
      pending = count;
      settle = { resolve, reject };
    });
  const add = (count: number, work: Work) =>
    count === 1 ? queue.add('w', work) : queue.addBulk(Array.from({ length: count }, () => ({ name: 'w', data: work })));
  const run = async (count: number, work: Work) => {
    const done = finished(count);
    await add(count, work);
    await done;
  };

  return {
    name: `bullmq (${workerThreads ? 'worker threads' : 'in-process'}${appendonly ? ', AOF' : ''})`,
    async setup(threads) {
      server = await startRedis(appendonly);
      const connection = { host: '127.0.0.1', port: server.port };
      queue = new Queue<Work>('bench', { connection });
      // In-process, the processor runs on this thread (CPU work cannot use `threads`); with worker
      // threads BullMQ runs the processor file in a pool of up to `concurrency` threads.
      const processor = workerThreads ? PROCESSOR : async (job: { data: Work }) => doWork(job.data);
      worker = new Worker<Work>('bench', processor, { connection, concurrency: threads, useWorkerThreads: workerThreads });
      worker.on('completed', () => {
        if (--pending === 0) settle?.resolve();
      });
      worker.on('failed', (_job, error) => settle?.reject(error));
      await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
      await run(threads * 4, 'noop'); // warm up: connections, Lua scripts, sandbox threads
    },
    runMany: run,
    runOne: (work) => run(1, work),
    async teardown() {
      await worker?.close();
      await queue?.close();
      await server?.stop();
    },
  };
}

interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(appendonly: boolean): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Unavailable('redis-server is not installed (apt-get install redis-server)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'offthread-bench-redis-'));
  const port = await freePort();
  const log = join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', log];
  if (appendonly) args.push('--appendonly', 'yes');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM'); // Redis saves its snapshot on SIGTERM, then exits
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(port, child);
  } catch (error) {
    let tail = '';
    try {
      tail = readFileSync(log, 'utf8').trim().split('\n').slice(-3).join('\n');
    } catch {}
    await stop();
    throw new Unavailable(`redis-server did not answer PING on 127.0.0.1:${port}: ${(error as Error).message}\n${tail}`);
  }
  return { port, stop };
}

/** A port free on 127.0.0.1 now (another process could take it before Redis binds; unlikely). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}
