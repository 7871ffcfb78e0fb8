/**
 * A TCP proxy in front of the test PostgreSQL server, so a test can take the server away
 * from a store and give it back: `refuse()` cuts every connection through it and closes each
 * new one at once (what a client sees of a server that restarts or a network that fails),
 * `pass()` lets them through again.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #server: Server;
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  readonly #waiting: { count: number; resolve: () => void }[] = [];
  #refusing = false;
  /** Connections closed at once since the proxy started. */
  refused = 0;

  private constructor(server: Server, target: number) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** A proxy on a free port of 127.0.0.1 to the server of `url`. */
  static async start(url: string): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, Number(new URL(url).port));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** `url` through the proxy. */
  url(url: string): string {
    const through = new URL(url);
    through.port = String(this.port);
    return through.href;
  }

  /** Connections open through it now. */
  get open(): number {
    return this.#sockets.size / 2;
  }

  refuse(): void {
    this.#refusing = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  pass(): void {
    this.#refusing = false;
  }

  /** Resolves once `count` connections in all have been refused. */
  untilRefused(count: number): Promise<void> {
    if (this.refused >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      client.destroy();
      this.refused++;
      for (const waiter of [...this.#waiting]) {
        if (this.refused < waiter.count) continue;
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
      return;
    }
    const server = connect(this.#target, '127.0.0.1');
    for (const [socket, other] of [
      [client, server],
      [server, client],
    ] as const) {
      this.#sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        this.#sockets.delete(socket);
        other.destroy();
      });
      socket.pipe(other);
    }
  }
}
