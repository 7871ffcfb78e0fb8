/**
 * How a shared store carries `output$` values between the hosts of its queue (the seam;
 * PostgreSQL's is ./postgres/pg-outputs.ts, the streams side src/streams/output-wire.ts).
 * Two paths: a notice every host of the queue hears (a reader's interest in a task), and
 * a host's own channel, which only it hears (values for its readers, room for its
 * forwarders). What travels is text: the store neither reads nor changes it.
 */
export interface OutputLink {
  /** This host, as the others address it. */
  readonly host: string;
  /** The queue: hosts of other queues on the same store ignore its notices. */
  readonly queue: string;
  /** Tells every host of the queue (this one too). */
  announce(notice: string): Promise<void>;
  /** Sends to `host`, in one transaction: the pieces arrive together, in this order, or not at all. */
  send(host: string, pieces: readonly string[]): Promise<void>;
  /** Whether `host` is still connected to the store (false: it stopped or died). */
  present(host: string): Promise<boolean>;
}
