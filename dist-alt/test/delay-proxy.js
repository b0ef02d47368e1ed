import { EventEmitter } from 'node:events';
import { connect, createServer } from 'node:net';
/**
 * A loopback TCP proxy that holds client → server bytes for `delayMs` before
 * forwarding them, in order: a command that reaches its server after its
 * sender gave up on it. Emits `'forwarded'` after each held piece is passed on.
 */
export class DelayProxy extends EventEmitter {
    server;
    port;
    /** Applies to bytes that arrive from now on; 0 forwards at once (still behind anything held). */
    delayMs = 0;
    open = new Set();
    constructor(server, port) {
        super();
        this.server = server;
        this.port = port;
    }
    static async start(targetPort) {
        let proxy;
        const server = createServer((client) => proxy.accept(client, targetPort));
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        proxy = new DelayProxy(server, server.address().port);
        return proxy;
    }
    get redisUrl() {
        return `redis://127.0.0.1:${this.port}`;
    }
    async close() {
        for (const socket of this.open)
            socket.destroy();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
    accept(client, targetPort) {
        const server = connect(targetPort, '127.0.0.1');
        for (const socket of [client, server]) {
            this.open.add(socket);
            socket.on('error', () => { }).on('close', () => {
                this.open.delete(socket);
                client.destroy();
                server.destroy();
            });
        }
        server.pipe(client);
        // One queue per connection, drained in order: a piece never overtakes an earlier one.
        const held = [];
        let timer;
        const drain = () => {
            timer = undefined;
            while (held.length > 0 && held[0].at <= Date.now()) {
                const { data } = held.shift();
                server.write(data);
                this.emit('forwarded', data);
            }
            if (held.length > 0)
                timer = setTimeout(drain, held[0].at - Date.now());
        };
        client.on('data', (data) => {
            held.push({ at: Math.max(Date.now() + this.delayMs, held.at(-1)?.at ?? 0), data });
            if (!timer)
                drain();
        });
    }
}
//# sourceMappingURL=delay-proxy.js.map