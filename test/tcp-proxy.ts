import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that breaks connections the way real networks do:
 * `cut` resets every open connection once the client has sent so many bytes
 * through it (counted over all connections); `blackhole` stops forwarding
 * without closing anything (a connection that died silently).
 */
export class TcpProxy {
  /** Client → server bytes forwarded so far, over every connection. */
  sent = 0;
  connections = 0;
  private readonly cutAt: number[] = [];
  private blackholeAt: number | undefined;
  private dropResponse: ((data: Buffer) => boolean) | undefined;
  /** Resolves when a connection was blackholed or a response dropped. */
  broke: Promise<void>;
  private markBroke!: () => void;
  private readonly open = new Set<{ client: Socket; server: Socket }>();

  private constructor(private readonly server: Server, readonly port: number) {
    this.broke = new Promise((resolve) => { this.markBroke = resolve; });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resets every connection when the bytes sent through the proxy first reach each of these totals. */
  cutWhenSent(...totals: number[]): void {
    this.cutAt.push(...totals);
    this.cutAt.sort((a, b) => a - b);
  }

  /** From this total on, bytes are swallowed and connections stay open. */
  blackholeWhenSent(total: number): void {
    this.blackholeAt = total;
  }

  /** The first response for which `match` holds is not delivered: its connection is reset instead. */
  dropResponseWhen(match: (data: Buffer) => boolean): void {
    this.dropResponse = match;
  }

  async close(): Promise<void> {
    for (const pair of this.open) {
      pair.client.destroy();
      pair.server.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    this.connections++;
    const server = connect(targetPort, '127.0.0.1');
    const pair = { client, server };
    this.open.add(pair);
    let blackholed = false;
    const drop = () => {
      this.open.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    client.on('data', (data: Buffer) => {
      if (blackholed) return;
      if (this.blackholeAt !== undefined && this.sent + data.length >= this.blackholeAt) {
        blackholed = true;
        this.blackholeAt = undefined;
        this.markBroke();
        return;
      }
      const cut = this.cutAt[0];
      if (cut !== undefined && this.sent + data.length >= cut) {
        this.cutAt.shift();
        const part = cut - this.sent;
        this.sent = cut;
        server.write(data.subarray(0, part), () => {
          for (const p of this.open) {
            p.client.resetAndDestroy();
            p.server.resetAndDestroy();
          }
        });
        return;
      }
      this.sent += data.length;
      if (!server.write(data)) {
        client.pause();
        server.once('drain', () => client.resume());
      }
    });
    server.on('data', (data: Buffer) => {
      if (blackholed) return;
      if (this.dropResponse?.(data)) {
        this.dropResponse = undefined;
        client.resetAndDestroy();
        server.destroy();
        this.markBroke();
        return;
      }
      if (!client.write(data)) {
        server.pause();
        client.once('drain', () => server.resume());
      }
    });
  }
}
