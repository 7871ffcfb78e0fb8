/**
 * `ctx.messages`, worker side: what `rt.send(id, message)` delivers to a running task, as an
 * async iterable. Its port is made when the handler first reads `ctx.messages` (most tasks
 * never do, and then nothing is made), and the host learns of it in an `inbox` message.
 * Iteration ends when the run does: a `for await` over it does not keep a finished task's
 * code waiting.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

interface Reader {
  resolve(result: IteratorResult<unknown>): void;
}

export class TaskInbox implements AsyncIterable<unknown> {
  readonly #port: MessagePort;
  readonly #waiting: unknown[] = [];
  readonly #readers: Reader[] = [];
  #closed = false;

  /** `announce` hands the host its end of the channel. */
  constructor(announce: (port: MessagePort) => void) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    port1.on('message', (message: unknown) => this.#deliver(message));
    // Listening must not keep the thread from being recycled or ended.
    port1.unref();
    announce(port2);
  }

  #deliver(message: unknown): void {
    const reader = this.#readers.shift();
    if (reader !== undefined) reader.resolve({ value: message, done: false });
    else this.#waiting.push(message);
  }

  /** The run ended: readers are done; messages sent after this are dropped with the port. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
    for (const reader of this.#readers.splice(0)) reader.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return {
      next: () => {
        if (this.#waiting.length > 0) return Promise.resolve({ value: this.#waiting.shift(), done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#readers.push({ resolve }));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
