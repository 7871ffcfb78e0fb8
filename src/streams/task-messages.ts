/**
 * `rt.send(id, message)`, host side: the messages for one running task. Its handler's thread
 * opens a port for them when the handler first reads `ctx.messages` (TaskInbox); until
 * then they wait here, in order. The port belongs to one run: when the run ends it is
 * closed, and messages still waiting are dropped with it (a retry starts with no messages).
 */
import type { MessagePort } from 'node:worker_threads';

export class TaskMessages {
  #port: MessagePort | undefined;
  #waiting: unknown[] = [];

  /** Throws (DataCloneError) for a message that cannot be cloned, before anything is sent. */
  send(message: unknown): void {
    if (this.#port !== undefined) {
      this.#port.postMessage(message);
      return;
    }
    // Cloned now, as postMessage would: a message that cannot be cloned fails the send,
    // and a later change to the caller's object does not reach the task.
    this.#waiting.push(structuredClone(message));
  }

  /** The run's thread opened its inbox: what waits goes now, the rest as it is sent. */
  open(port: MessagePort): void {
    this.#port?.close();
    this.#port = port;
    port.unref();
    for (const message of this.#waiting.splice(0)) port.postMessage(message);
  }

  /** The run ended. */
  close(): void {
    this.#port?.close();
    this.#port = undefined;
    this.#waiting = [];
  }
}
