/**
 * Host processes of a shared queue for the tests: each is test/fixtures/queue-host.js in its
 * own Node process, told what to do over IPC, telling what it does in stdout lines (see the
 * fixture for the lines). Tests wait for lines, never for time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { onTestFailed } from 'vitest';

const FIXTURE = new URL('../fixtures/queue-host.js', import.meta.url).pathname;

export interface HostOptions {
  database: string;
  name: string;
  concurrency?: number;
  leaseMs?: number;
  queue?: string;
  /** The host reports the lease owner id its claims carry (line `owner <id>`). */
  reportOwner?: boolean;
}

/** One handler run, as its host logged it. */
export interface Run {
  id: string;
  host: string;
  attempt: number;
  /** Epoch ms at which the host wrote the line (the handler had begun). */
  at: number;
  label: string;
}

export function parseRun(line: string): Run | undefined {
  const [kind, id, host, attempt, at, label] = line.split(' ');
  if (kind !== 'ran' || label === undefined) return undefined;
  return { id: id!, host: host!, attempt: Number(attempt), at: Number(at), label };
}

type Listener = (line: string) => void;

const started = new Set<QueueHost>();

export class QueueHost {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  /** Resolves once the process has exited and its stdout is read to the end. */
  readonly gone: Promise<void>;
  #stderr = '';
  #ended = false;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #listeners = new Set<Listener>();
  #tags = 0;
  /** Set once the test closes or kills it: its exit is expected from then on. */
  #leaving = false;
  /** Rejects if the process ends before the test closed or killed it. */
  readonly crashed: Promise<never>;

  private constructor(readonly name: string, options: HostOptions) {
    this.child = spawn(process.execPath, [FIXTURE, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-20_000);
    });
    const exited = once(this.child, 'exit').then(([code, signal]) => {
      this.#exit = { code, signal };
    });
    const reader = createInterface({ input: this.child.stdout! });
    reader.on('line', (line) => {
      this.lines.push(line);
      for (const listener of [...this.#listeners]) listener(line);
    });
    const ended = once(reader, 'close').then(() => {
      this.#ended = true;
      for (const listener of [...this.#listeners]) listener('');
    });
    this.gone = Promise.all([exited, ended]).then(() => undefined);
    this.crashed = this.gone.then(() => {
      if (!this.#leaving) throw new Error(`host ${this.name} ended by itself (${JSON.stringify(this.#exit)})\n--- its stderr ---\n${this.#stderr}`);
      return new Promise<never>(() => {});
    });
    this.crashed.catch(() => undefined);
  }

  /** Starts a host process; resolves once its runtime is open. */
  static async start(options: HostOptions): Promise<QueueHost> {
    const host = new QueueHost(options.name, options);
    started.add(host);
    // A failed test shows where each of its hosts was.
    onTestFailed(() => console.error(host.summary()));
    await host.waitFor((line) => line.startsWith('ready '));
    return host;
  }

  /** What the process wrote to stderr (its last 20 kB). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Where the host got to: counts of its lines by kind, its last lines and its stderr. */
  summary(): string {
    const kinds = new Map<string, number>();
    for (const line of this.lines) kinds.set(line.split(' ')[0]!, (kinds.get(line.split(' ')[0]!) ?? 0) + 1);
    return [
      `--- host ${this.name} (pid ${this.child.pid}, exit ${JSON.stringify(this.#exit ?? 'running')}): ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`,
      ...this.lines.slice(-8).map((line) => `  | ${line.slice(0, 200)}`),
      ...(this.#stderr === '' ? [] : ['  stderr:', ...this.#stderr.trimEnd().split('\n').slice(-30).map((line) => `  ! ${line}`)]),
    ].join('\n');
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Every handler run this host logged so far. */
  runs(): Run[] {
    return this.lines.map(parseRun).filter((run): run is Run => run !== undefined);
  }

  /** Calls `listener` with each line written so far, then with each new one. */
  follow(listener: (line: string) => void): void {
    for (const line of this.lines) listener(line);
    this.#listeners.add((line) => line !== '' && listener(line));
  }

  /**
   * The first line from index `from` on that matches, whether written already or later.
   * Rejects if the process ends without writing one.
   */
  waitFor(match: (line: string) => boolean, from = 0): Promise<string> {
    for (let i = from; i < this.lines.length; i++) if (match(this.lines[i]!)) return Promise.resolve(this.lines[i]!);
    return new Promise((resolve, reject) => {
      const listener: Listener = (line) => {
        if (line !== '' && match(line)) {
          this.#listeners.delete(listener);
          resolve(line);
        } else if (this.#ended) {
          this.#listeners.delete(listener);
          reject(new Error(`host ${this.name} ended (${JSON.stringify(this.#exit)}) without the line awaited\n--- its stderr ---\n${this.#stderr}`));
        }
      };
      if (this.#ended) listener('');
      else this.#listeners.add(listener);
    });
  }

  /** Sends a command; resolves to the words after `ok`, or rejects with an error carrying the code the host replied. */
  async request(message: Record<string, unknown>): Promise<string[]> {
    const tag = `${this.name}-${++this.#tags}`;
    const from = this.lines.length;
    const replied = this.waitFor((line) => line.startsWith(`reply ${tag} `), from);
    // A host that has ended cannot be told anything: `replied` rejects for it, saying why.
    this.child.send({ ...message, tag }, () => undefined);
    const words = (await replied).split(' ').slice(2);
    if (words[0] === 'ok') return words.slice(1);
    const error = new Error(`host ${this.name}: ${String(message.cmd)} failed: ${words.slice(1).join(' ')}`) as Error & { code?: string };
    error.code = words[1];
    throw error;
  }

  submit(items: Array<{ type: string; payload?: unknown; options?: Record<string, unknown> }>): Promise<string[]> {
    return this.request({ cmd: 'submit', items });
  }

  /** Lets step `step` of a `stepper` task go. */
  async openGate(id: string, step: number): Promise<void> {
    await this.request({ cmd: 'open', gate: `${id}:${step}` });
  }

  /** Closes its runtime and waits for the process to end; fails if it did not end cleanly. */
  async close(): Promise<void> {
    this.#leaving = true;
    await this.request({ cmd: 'close' });
    await this.gone;
    started.delete(this);
    const lingering = this.lines.find((line) => line.startsWith('lingering'));
    if (lingering !== undefined) throw new Error(`host ${this.name} did not end by itself after close: ${lingering}`);
    if (this.#exit?.code !== 0) throw new Error(`host ${this.name} exited with ${JSON.stringify(this.#exit)}\n${this.#stderr}`);
  }

  /** SIGKILL; resolves once the process is gone and every line it wrote has been read. */
  async kill(): Promise<void> {
    this.#leaving = true;
    this.child.kill('SIGKILL');
    await this.gone;
    started.delete(this);
  }
}

/**
 * `promise`, unless a host ends by itself first (or a run log sees a task run twice): then
 * that, at once, rather than a test timing out.
 */
export function watching<T>(promise: Promise<T>, hosts: Iterable<QueueHost>, log?: RunLog): Promise<T> {
  return Promise.race([promise, ...[...hosts].map((host) => host.crashed), ...(log === undefined ? [] : [log.repeated])]);
}

/** Every run the hosts followed logged; `repeated` rejects as soon as one task has run twice. */
export class RunLog {
  readonly byId = new Map<string, Run[]>();
  readonly repeated: Promise<never>;
  #repeat!: (error: Error) => void;

  constructor() {
    this.repeated = new Promise<never>((_, reject) => (this.#repeat = reject));
    this.repeated.catch(() => undefined);
  }

  follow(host: QueueHost): void {
    host.follow((line) => {
      const run = parseRun(line);
      if (run === undefined) return;
      const runs = this.byId.get(run.id) ?? [];
      runs.push(run);
      this.byId.set(run.id, runs);
      if (runs.length > 1) this.#repeat(new Error(`task ${run.id} ran more than once: on ${runs.map((r) => r.host).join(', ')}`));
    });
  }
}

/** Kills every host a test started and did not close or kill (call it in afterEach). */
export async function killHosts(): Promise<void> {
  const left = [...started];
  await Promise.all(left.map((host) => host.kill()));
}

/**
 * Completions the hosts reported (lines `done ...`): `waitAll(ids)` resolves once each of
 * them was reported by one of the hosts followed.
 */
export class Completions {
  readonly done = new Set<string>();
  #waiters: Array<{ ids: Set<string>; resolve(): void }> = [];

  follow(host: QueueHost): void {
    host.follow((line) => {
      if (!line.startsWith('done ')) return;
      for (const id of line.split(' ').slice(1)) {
        this.done.add(id);
        for (const waiter of this.#waiters) waiter.ids.delete(id);
      }
      this.#settle();
    });
  }

  waitAll(ids: Iterable<string>): Promise<void> {
    const left = new Set([...ids].filter((id) => !this.done.has(id)));
    return new Promise((resolve) => {
      this.#waiters.push({ ids: left, resolve });
      this.#settle();
    });
  }

  #settle(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.ids.size > 0) return true;
      waiter.resolve();
      return false;
    });
  }
}
