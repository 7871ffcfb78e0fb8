/**
 * The real side of the model run: a model host process with a runtime on a database file
 * of the current run. The process outlives runs (forking one costs a few hundred ms);
 * each run gets a fresh file, and a kill gets a fresh process on the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostProcess } from './host-client.js';
import type { HostRequest, Snapshot } from './protocol.js';

export type Checked = Awaited<ReturnType<HostProcess['checked']>>;

/** A runtime opened again: the host's clock just before open, and the tasks read after it. */
export interface Reopened {
  openedAt: number;
  snapshot: Snapshot;
}

export class ModelSystem {
  private host: HostProcess | undefined;
  private dir: string | undefined;
  private database = '';
  /** Counted for the report: what the runs did besides commands on tasks. */
  kills = 0;
  reopens = 0;

  /** Opens a runtime on a new, empty file; resolves to the host's clock just before open. */
  async startRun(): Promise<number> {
    await this.endRun();
    this.dir = mkdtempSync(join(tmpdir(), 'offthread-model-'));
    this.database = join(this.dir, 'tasks.db');
    if (this.host === undefined || !this.host.alive) this.host = await HostProcess.start();
    return (await this.open([])).openedAt;
  }

  request<T>(request: HostRequest): Promise<T> {
    return this.process().request<T>(request);
  }

  /** Carries out a request, then reads the tasks `check` (see HostMessage). */
  checked(request: HostRequest, check: string[]): Promise<Checked> {
    return this.process().checked(request, check);
  }

  /** close() and open() again in the same process; then reads the tasks `check`. */
  async reopen(graceful: boolean, released: string[], check: string[]): Promise<Reopened> {
    this.reopens++;
    await this.request({ op: 'close', graceful });
    return this.open(released, check);
  }

  /** SIGKILL of the process holding the runtime, and a new process on the same file. */
  async kill(released: string[], check: string[]): Promise<Reopened> {
    this.kills++;
    await this.host?.kill();
    this.host = await HostProcess.start();
    return this.open(released, check);
  }

  private process(): HostProcess {
    if (this.host === undefined) throw new Error('no model host');
    return this.host;
  }

  /** Closes the run's runtime and removes its file. */
  async endRun(): Promise<void> {
    if (this.dir === undefined) return;
    const dir = this.dir;
    this.dir = undefined;
    try {
      if (this.host?.alive) await this.request({ op: 'close', graceful: false }).catch(() => this.host?.kill());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async dispose(): Promise<void> {
    await this.endRun().catch(() => undefined);
    await this.host?.stop();
    this.host = undefined;
  }

  private async open(released: string[], check: string[] = []): Promise<Reopened> {
    const { value, snapshot } = await this.checked({ op: 'open', database: this.database, released }, check);
    return { openedAt: value as number, snapshot };
  }
}
