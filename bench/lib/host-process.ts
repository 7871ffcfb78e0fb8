/**
 * Host processes of a queue on PostgreSQL for the shared-queue benchmarks: each a forked
 * bench/scenarios/pg-host-child.js with a runtime of its own on the same database and queue.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { within } from './scenario.js';

const CHILD = fileURLToPath(new URL('../scenarios/pg-host-child.js', import.meta.url));

export interface HostProcess {
  readonly pid: number;
  /** Closes its runtime (letting running tasks finish) and waits for it to exit. */
  stop(): Promise<void>;
}

export async function startHost(url: string, concurrency: number): Promise<HostProcess> {
  const child = fork(CHILD, [url, String(concurrency)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<number>((resolve, reject) => {
    child.on('message', (message: { ready?: number }) => message.ready && resolve(message.ready));
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`the host process exited with code ${code} before it was ready`)));
  });
  try {
    const pid = await within(ready, 30_000, 'a host process opening its runtime');
    return { pid, stop: () => stopHost(child, exited) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function stopHost(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.send('close');
  try {
    await within(exited, 15_000, 'a host process closing');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
