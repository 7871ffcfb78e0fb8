/**
 * The real side of the model run: a model host process with a runtime on a database file
 * of the current run. The process outlives runs (forking one costs a few hundred ms);
 * each run gets a fresh file, and a kill gets a fresh process on the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostProcess } from './host-client.js';
import type { Snapshot } from './protocol.js';

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
    return this.open([]);
  }

  request<T>(request: Parameters<HostProcess['request']>[0]): Promise<T> {
    if (this.host === undefined) throw new Error('no model host');
    return this.host.request<T>(request);
  }

  snapshot(ids: string[]): Promise<Snapshot> {
    return this.request<Snapshot>({ op: 'snapshot', ids });
  }

  /** close() and open() again in the same process. */
  async reopen(graceful: boolean, released: string[]): Promise<number> {
    this.reopens++;
    await this.request({ op: 'close', graceful });
    return this.open(released);
  }

  /** SIGKILL of the process holding the runtime, and a new process on the same file. */
  async kill(released: string[]): Promise<number> {
    this.kills++;
    await this.host?.kill();
    this.host = await HostProcess.start();
    return this.open(released);
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

  private open(released: string[]): Promise<number> {
    return this.request<number>({ op: 'open', database: this.database, released });
  }
}
