/**
 * The `ctx` a handler receives, worker side. Runs in the worker thread only.
 */
import { performance } from 'node:perf_hooks';
import { deserialize, serialize } from 'node:v8';
import type { Remote } from 'comlink';
import { InvalidOptionError, NotCloneableError } from '../errors.js';
import type { TaskContext } from '../worker.js';
import type { MessagePort } from 'node:worker_threads';
import { CANCEL, OUTPUT_WINDOW, outputIndex, PAUSE, RUN, stateIndex } from './control.js';
import type { ProgressReport, TaskRequest, WorkerEvent } from './protocol.js';
import { TaskInbox } from './task-inbox.js';

/** What every context of one worker thread shares. */
export interface ContextEnvironment {
  words: Int32Array;
  progressIntervalMs: number;
  post(event: WorkerEvent, transfer?: MessagePort[]): void;
  host(): Remote<any>;
  /** The thread is about to sleep at a checkpoint: what waits to be told must go first. */
  beforeSleep(): void;
}

const RESOLVED = Promise.resolve();

export function abortError(): DOMException {
  return new DOMException('The task was cancelled.', 'AbortError');
}

export class WorkerTaskContext implements TaskContext {
  private readonly index: number;
  private done = false;
  private controller: AbortController | undefined;
  private waiting = false;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: ProgressReport | undefined;
  private trailingTimer: NodeJS.Timeout | undefined;
  /** Values emitted (ctx.emit) in this run; the host's count of those handed on is in the slot's output word. */
  private emitted = 0;
  private inbox: TaskInbox | undefined;
  /** Messages posted for this task; see TaskOutcome.posted. */
  posted = 0;

  readonly id: string;
  readonly attempt: number;

  constructor(
    private readonly request: TaskRequest,
    private readonly env: ContextEnvironment,
  ) {
    this.id = request.id;
    this.attempt = request.attempt;
    this.index = stateIndex(request.slot);
  }

  get dependencies(): Record<string, unknown> {
    return this.request.dependencies ?? {};
  }

  get failedDependencies(): Record<string, { code: string; message: string }> {
    return this.request.failedDependencies ?? {};
  }

  private decodedState: { value: unknown } | undefined;

  /** Decoded once, on first read: many handlers never look. */
  get checkpointState(): unknown {
    const bytes = this.request.checkpoint;
    if (bytes === undefined) return undefined;
    this.decodedState ??= { value: deserialize(bytes) };
    return this.decodedState.value;
  }

  saveCheckpoint(state: unknown): void {
    let bytes: Uint8Array;
    try {
      bytes = serialize(state);
    } catch (error) {
      throw new NotCloneableError('checkpoint state', error);
    }
    if (this.done) return;
    this.post({ __offthread: 1, type: 'checkpoint', id: this.id, state: bytes });
  }

  /** `any`: each handler types `ctx.host` itself (HostServices, or its own TaskContext). */
  get host(): any {
    return this.env.host();
  }

  /** Created on first use: most handlers never look, and an unused signal should cost nothing. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      this.watchControlWord();
    }
    return this.controller.signal;
  }

  progress(percent: number, message?: string): void {
    if (typeof percent !== 'number' || Number.isNaN(percent)) {
      throw new InvalidOptionError('percent', `ctx.progress expects a number from 0 to 100, got ${String(percent)}.`);
    }
    if (message !== undefined && typeof message !== 'string') {
      throw new InvalidOptionError('message', `ctx.progress expects a string message, got ${typeof message}.`);
    }
    if (this.done) return;
    this.pending = { progress: Math.min(100, Math.max(0, percent)), message: message ?? null };
    const now = performance.now();
    if (now - this.lastSentAt >= this.env.progressIntervalMs) {
      this.sendPending(now);
    } else if (this.trailingTimer === undefined) {
      // The last update of a burst still goes out if the handler yields to the event loop;
      // if it never does, it rides along with the outcome (see finish()).
      this.trailingTimer = setTimeout(() => {
        this.trailingTimer = undefined;
        if (!this.done) this.sendPending(performance.now());
      }, this.env.progressIntervalMs - (now - this.lastSentAt));
    }
  }

  emit(value: unknown): Promise<void> {
    if (this.done) return RESOLVED;
    try {
      this.env.post({ __offthread: 1, type: 'output', id: this.id, value });
    } catch (error) {
      return Promise.reject(new NotCloneableError('ctx.emit value', error));
    }
    this.posted++;
    this.emitted++;
    return this.emitted - Atomics.load(this.env.words, this.outputIndex) < OUTPUT_WINDOW ? RESOLVED : this.roomToEmit();
  }

  private get outputIndex(): number {
    return outputIndex(this.request.slot);
  }

  /** Resolves once the host has handed on enough values; rejects (AbortError) if the task is cancelled meanwhile. */
  private async roomToEmit(): Promise<void> {
    const { words } = this.env;
    for (;;) {
      if (Atomics.load(words, this.index) === CANCEL) throw abortError();
      const handedOn = Atomics.load(words, this.outputIndex);
      if (this.done || this.emitted - handedOn < OUTPUT_WINDOW) return;
      const wait = Atomics.waitAsync(words, this.outputIndex, handedOn);
      if (wait.async) await wait.value;
    }
  }

  get messages(): AsyncIterable<unknown> {
    this.inbox ??= new TaskInbox((port) => {
      this.posted++;
      this.env.post({ __offthread: 1, type: 'inbox', id: this.id, port }, [port]);
    });
    return this.inbox;
  }

  checkpoint(): Promise<void> {
    const state = Atomics.load(this.env.words, this.index);
    if (state === RUN) return RESOLVED;
    if (state === PAUSE) this.sleepWhilePaused();
    // Thrown, not returned as a rejection, so a sync loop that forgets `await` still stops.
    if (Atomics.load(this.env.words, this.index) === CANCEL) throw abortError();
    return RESOLVED;
  }

  /** Called once the handler has settled; returns progress not yet sent as a message. */
  finish(): ProgressReport | undefined {
    this.done = true;
    if (this.trailingTimer !== undefined) clearTimeout(this.trailingTimer);
    this.inbox?.close();
    // Release our Atomics.waitAsync watchers so they do not outlive the task.
    if (this.waiting) Atomics.notify(this.env.words, this.index);
    if (this.emitted >= OUTPUT_WINDOW) Atomics.notify(this.env.words, this.outputIndex);
    return this.pending;
  }

  get cancelled(): boolean {
    return Atomics.load(this.env.words, this.index) === CANCEL;
  }

  private sendPending(now: number): void {
    const report = this.pending;
    if (report === undefined) return;
    this.pending = undefined;
    this.lastSentAt = now;
    this.post({ __offthread: 1, type: 'progress', id: this.id, ...report });
  }

  /** For a task sent ahead of its start (TaskRequest.announce): the host learns it started now. */
  announceStart(at: number): void {
    this.post({ __offthread: 1, type: 'started', id: this.id, at });
  }

  private post(event: WorkerEvent): void {
    this.posted++;
    this.env.post(event);
  }

  /** Blocks this thread (no CPU) until the host writes something other than PAUSE. */
  private sleepWhilePaused(): void {
    const { words } = this.env;
    // Flush progress first: the host should see what was done before the pause.
    this.sendPending(performance.now());
    this.env.beforeSleep();
    this.post({ __offthread: 1, type: 'paused', id: this.id, at: Date.now() });
    while (Atomics.load(words, this.index) === PAUSE) Atomics.wait(words, this.index, PAUSE);
    if (Atomics.load(words, this.index) === RUN) {
      this.post({ __offthread: 1, type: 'resumed', id: this.id, at: Date.now() });
    }
  }

  /** Aborts the signal when the host writes CANCEL, without any message from the host. */
  private watchControlWord(): void {
    const { words } = this.env;
    const check = (): void => {
      this.waiting = false;
      if (this.done) return;
      const state = Atomics.load(words, this.index);
      if (state === CANCEL) {
        this.controller?.abort(abortError());
        return;
      }
      const wait = Atomics.waitAsync(words, this.index, state);
      if (wait.async) {
        this.waiting = true;
        void wait.value.then(check);
      } else {
        check();
      }
    };
    check();
  }
}
