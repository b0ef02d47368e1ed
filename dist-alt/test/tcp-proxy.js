import { createServer, connect } from 'node:net';
/**
 * A loopback TCP proxy that breaks connections the way real networks do:
 * `cut` resets every open connection once the client has sent so many bytes
 * through it (counted over all connections); `blackhole` stops forwarding
 * without closing anything (a connection that died silently).
 */
export class TcpProxy {
    server;
    port;
    /** Client → server bytes forwarded so far, over every connection. */
    sent = 0;
    connections = 0;
    cutAt = [];
    blackholeAt;
    dropResponse;
    /** Resolves when a connection was blackholed or a response dropped. */
    broke;
    markBroke;
    open = new Set();
    constructor(server, port) {
        this.server = server;
        this.port = port;
        this.broke = new Promise((resolve) => { this.markBroke = resolve; });
    }
    static async start(targetPort) {
        let proxy;
        const server = createServer((client) => proxy.accept(client, targetPort));
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        proxy = new TcpProxy(server, server.address().port);
        return proxy;
    }
    get url() {
        return `http://127.0.0.1:${this.port}`;
    }
    /** Resets every connection when the bytes sent through the proxy first reach each of these totals. */
    cutWhenSent(...totals) {
        this.cutAt.push(...totals);
        this.cutAt.sort((a, b) => a - b);
    }
    /** From this total on, bytes are swallowed and connections stay open. */
    blackholeWhenSent(total) {
        this.blackholeAt = total;
    }
    /** The first response for which `match` holds is not delivered: its connection is reset instead. */
    dropResponseWhen(match) {
        this.dropResponse = match;
    }
    async close() {
        for (const pair of this.open) {
            pair.client.destroy();
            pair.server.destroy();
        }
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
    accept(client, targetPort) {
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
        client.on('data', (data) => {
            if (blackholed)
                return;
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
        server.on('data', (data) => {
            if (blackholed)
                return;
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
//# sourceMappingURL=tcp-proxy.js.map