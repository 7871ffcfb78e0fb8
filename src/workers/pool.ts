/**
 * The Piscina pool, wrapped so the scheduler sees three things: run a batch, learn a
 * handlers module's task types, and terminate the thread a stuck task is on.
 */
import { fileURLToPath } from 'node:url';
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import {
  isWorkerEvent,
  type DescribeResponse,
  type TaskOutcome,
  type TaskRequest,
  type WorkerBootData,
  type WorkerEvent,
} from './protocol.js';

export interface WorkerPoolOptions {
  threads: number;
  /** The handlers module: each thread imports it before it takes its first call. */
  handlers: string;
  control: SharedArrayBuffer;
  progressIntervalMs: number;
  maxTasksPerThread: number | null;
  maxPayloadBytes: number;
  resourceLimits: ResourceLimits | undefined;
  /** Added to each worker thread's nice value, so the host's main thread wins a busy CPU. */
  niceIncrement: number;
  services: Record<string, unknown>;
  /** Progress and pause acknowledgements from running tasks. */
  onEvent(event: Exclude<WorkerEvent, { type: 'host-port' }>): void;
  /** A thread started in place of one that ended is ready for calls. */
  onThreadReady(): void;
}

// A path, not a file: URL: Piscina converts a URL back to a path on every run() call.
const ENTRY = fileURLToPath(new URL('./piscina-entry.cjs', import.meta.url));

/**
 * The increment the worker threads get. Only Linux gives each thread a nice value of its own:
 * on macOS and the BSDs nice() lowers the whole process, the host's main thread with it (and
 * once per thread), and Windows' thread priorities are another scale. There they keep the
 * host's priority.
 */
export function threadNiceIncrement(requested: number, platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? requested : 0;
}

export class WorkerPool {
  private readonly piscina: Piscina;
  private readonly servicePorts = new Set<MessagePort>();
  private destroyed = false;
  /** Threads Piscina has announced ready and not yet removed (see readyThreads). */
  readonly #ready = new Set<{ readonly destroyed: boolean }>();

  constructor(private readonly options: WorkerPoolOptions) {
    const workerData: WorkerBootData = {
      handlers: options.handlers,
      control: options.control,
      progressIntervalMs: options.progressIntervalMs,
      maxTasksPerThread: options.maxTasksPerThread,
      maxPayloadBytes: options.maxPayloadBytes,
    };
    this.piscina = new Piscina({
      filename: ENTRY,
      minThreads: options.threads,
      maxThreads: options.threads,
      // Threads stay warm while the runtime is open; close() destroys them.
      idleTimeout: Number.POSITIVE_INFINITY,
      // One call running and one sent ahead per thread (see Dispatcher.dispatch); the worker
      // runs them one after the other.
      concurrentTasksPerWorker: 2,
      workerData,
      // The runtime keeps its own run and wait histograms (streams/metrics.ts); Piscina's
      // would be a second record per call on the host and a timer around each in the worker.
      recordTiming: false,
      niceIncrement: threadNiceIncrement(options.niceIncrement),
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    this.piscina.on('message', (message: unknown) => this.onMessage(message));
    // Piscina announces each thread once it is ready (the first ones at once, a replacement
    // once it has loaded the entry and the handlers: piscina-entry.cts) and each that ends,
    // ready or not. Kept as a set, not a count, so one that dies while it loads is not
    // subtracted; each event hands a new view of its thread, whose `destroyed` stays live.
    this.piscina.on('workerCreate', (worker: { readonly destroyed: boolean }) => {
      this.#ready.add(worker);
      options.onThreadReady();
    });
    this.piscina.on('workerDestroy', () => {
      for (const worker of this.#ready) if (worker.destroyed) this.#ready.delete(worker);
    });
    // Piscina reports a worker that died between tasks here; tasks it was running are
    // rejected through their own run() promise, so there is nothing more to do.
    this.piscina.on('error', () => {});
  }

  /**
   * Threads that can take a call now: fewer than `threads` while one that ended (terminated,
   * crashed, retired) is being replaced. A call sent meanwhile would wait in Piscina's queue,
   * and a lone task would be counted as started while it waits.
   */
  get readyThreads(): number {
    return this.#ready.size;
  }

  describe(): Promise<DescribeResponse> {
    return this.piscina.run({ kind: 'describe' });
  }

  runBatch(tasks: TaskRequest[]): Promise<TaskOutcome[]> {
    return this.piscina.run({ kind: 'batch', tasks });
  }

  /** Terminates one thread; Piscina rejects its run() and starts a replacement. */
  terminateThread(threadId: number): boolean {
    const thread = this.piscina.threads.find((worker) => worker.threadId === threadId);
    if (thread === undefined) return false;
    void thread.terminate();
    return true;
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const port of this.servicePorts) port.close();
    this.servicePorts.clear();
    await this.piscina.destroy();
  }

  private onMessage(message: unknown): void {
    if (!isWorkerEvent(message)) return;
    if (message.type === 'host-port') {
      this.exposeServices(message.port);
      return;
    }
    this.options.onEvent(message);
  }

  private exposeServices(port: MessagePort): void {
    // A port can arrive after destroy(): it was posted just before its thread was stopped.
    if (this.destroyed) {
      port.close();
      return;
    }
    this.servicePorts.add(port);
    Comlink.expose(this.options.services, nodeEndpoint(port as any));
    // A channel waiting for calls must not keep the host process alive on its own.
    port.unref();
  }
}
