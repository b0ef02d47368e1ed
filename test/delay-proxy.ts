import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that holds client → server bytes for `delayMs` before
 * forwarding them, in order: a command that reaches its server after its
 * sender gave up on it. Emits `'forwarded'` after each held piece is passed on.
 */
export class DelayProxy extends EventEmitter {
  /** Applies to bytes that arrive from now on; 0 forwards at once (still behind anything held). */
  delayMs = 0;
  /**
   * Client → server bytes a connection may have in flight (held, or forwarded but not yet taken
   * by the server's socket) before the client is no longer read: a TCP window over the delayed
   * path. Unbounded by default, where a sender is never held back by the path.
   */
  maxInFlightBytes = Infinity;
  private readonly open = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number) {
    super();
  }

  static async start(targetPort: number): Promise<DelayProxy> {
    let proxy!: DelayProxy;
    const server = createServer((client) => proxy.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new DelayProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    const server = connect(targetPort, '127.0.0.1');
    for (const socket of [client, server]) {
      this.open.add(socket);
      socket.on('error', () => {}).on('close', () => {
        this.open.delete(socket);
        client.destroy();
        server.destroy();
      });
    }
    server.pipe(client);
    // One queue per connection, drained in order: a piece never overtakes an earlier one.
    const held: Array<{ at: number; data: Buffer }> = [];
    let heldBytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const inFlight = () => heldBytes + server.writableLength;
    const resumeIfRoom = () => {
      if (client.isPaused() && inFlight() < this.maxInFlightBytes) client.resume();
    };
    server.on('drain', resumeIfRoom);
    const drain = () => {
      timer = undefined;
      while (held.length > 0 && held[0]!.at <= Date.now()) {
        const { data } = held.shift()!;
        heldBytes -= data.length;
        server.write(data);
        this.emit('forwarded', data);
      }
      if (held.length > 0) timer = setTimeout(drain, held[0]!.at - Date.now());
      resumeIfRoom();
    };
    client.on('data', (data: Buffer) => {
      held.push({ at: Math.max(Date.now() + this.delayMs, held.at(-1)?.at ?? 0), data });
      heldBytes += data.length;
      if (inFlight() >= this.maxInFlightBytes) client.pause();
      if (!timer) drain();
    });
  }
}
