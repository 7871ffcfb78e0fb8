/**
 * The model run's side of a model host process: forks it, sends it requests and awaits
 * the answers, and SIGKILLs it. A request that gets no answer in `answerMs` fails the run:
 * a pause or a cancel that never resolves is a finding, not a reason to hang.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Outcome } from './model.js';
import type { HostError, HostReply, HostRequest, Snapshot } from './protocol.js';
import { builtScript } from './script-path.js';

export class HostRejection extends Error {
  constructor(
    readonly request: HostRequest,
    readonly error: HostError,
  ) {
    super(`${request.op} rejected: ${error.code ?? '(no code)'} ${error.message}`);
  }
}

const started = new Set<ChildProcess>();

/** SIGKILLs any model host still alive (a run interrupted by a failure or a timeout). */
export function killLeftoverModelHosts(): void {
  for (const child of started) child.kill('SIGKILL');
  started.clear();
}

export class HostProcess {
  private seq = 0;
  private readonly pending = new Map<number, (reply: HostReply) => void>();
  private readonly exited: Promise<unknown>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly answerMs: number,
  ) {
    started.add(child);
    this.exited = once(child, 'exit').finally(() => started.delete(child));
    child.on('message', (reply: HostReply) => {
      const settle = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      settle?.(reply);
    });
  }

  static async start(answerMs = 6_000): Promise<HostProcess> {
    const child = fork(builtScript('model-host'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const host = new HostProcess(child, answerMs);
    const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
    const died = host.exited.then(() => {
      throw new Error('the model host exited before it was ready');
    });
    await Promise.race([ready, died]);
    return host;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves to the request's value; rejects with a HostRejection when the runtime rejected it. */
  async request<T = unknown>(request: HostRequest): Promise<T> {
    const reply = await this.send(request);
    if (!reply.ok) throw new HostRejection(request, reply.error);
    return reply.value as T;
  }

  /** Carries out the request, then reads the tasks `check`; one round trip. */
  async checked(request: HostRequest, check: string[]): Promise<{ outcome: Outcome; value: unknown; snapshot: Snapshot }> {
    const reply = await this.send(request, check);
    const snapshot = reply.snapshot;
    if (snapshot === undefined || 'failed' in snapshot) {
      throw new Error(`reading the tasks after ${request.op} failed: ${snapshot?.failed.code} ${snapshot?.failed.message}`);
    }
    return reply.ok ? { outcome: { ok: true }, value: reply.value, snapshot } : { outcome: { ok: false, error: reply.error }, value: undefined, snapshot };
  }

  private send(request: HostRequest, check?: string[]): Promise<HostReply> {
    const seq = ++this.seq;
    return new Promise<HostReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        // It is stuck on this request, and would be on every later one: the run is over,
        // and the next one needs a new process.
        this.child.kill('SIGKILL');
        reject(new Error(`no answer to ${JSON.stringify(request)} within ${this.answerMs} ms`));
      }, this.answerMs);
      this.pending.set(seq, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send({ seq, request, ...(check === undefined ? {} : { check }) }, (error) => {
        if (error === null) return;
        clearTimeout(timer);
        this.pending.delete(seq);
        reject(error);
      });
    });
  }

  /** SIGKILL, as a crash: nothing in the process gets to run. Resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Lets it close its runtime and exit; kills it if it does not. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.answerMs);
    await this.exited;
    clearTimeout(timer);
  }
}
