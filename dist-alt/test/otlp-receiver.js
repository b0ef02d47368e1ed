import { once } from 'node:events';
import { createServer } from 'node:http';
const flatten = (attributes) => Object.fromEntries((attributes ?? []).map(({ key, value }) => [
    key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.boolValue ?? value.doubleValue ?? ''),
]));
/**
 * A collector's OTLP/HTTP receiver on loopback (`POST /v1/traces`): decodes
 * http/json; an http/protobuf request is kept as raw bytes (`protobufBodies`).
 */
export class OtlpReceiver {
    server;
    url;
    spans = [];
    protobufBodies = [];
    waiters = [];
    constructor(server, url) {
        this.server = server;
        this.url = url;
    }
    static async start() {
        const server = createServer();
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        const receiver = new OtlpReceiver(server, `http://127.0.0.1:${server.address().port}`);
        server.on('request', (req, res) => {
            const pieces = [];
            req.on('data', (piece) => pieces.push(piece));
            req.on('end', () => {
                const body = Buffer.concat(pieces);
                if (req.url !== '/v1/traces' || req.method !== 'POST') {
                    res.writeHead(404).end();
                    return;
                }
                if (req.headers['content-type']?.startsWith('application/x-protobuf'))
                    receiver.protobufBodies.push(body);
                else
                    receiver.take(JSON.parse(body.toString('utf8')));
                res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') }).end(req.headers['content-type']?.includes('json') ? '{}' : '');
                for (const wake of receiver.waiters.splice(0))
                    wake();
            });
        });
        return receiver;
    }
    /** Resolves with the spans once `ready` says they are all there (the batch processor exports on its schedule). */
    async waitFor(ready, what, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const found = ready(this.spans);
            if (found !== undefined)
                return found;
            const left = deadline - Date.now();
            if (left <= 0)
                throw new Error(`the collector did not receive ${what} within ${timeoutMs} ms; it has: ${this.spans.map((s) => s.name).join(', ')}`);
            await new Promise((resolve) => {
                const timer = setTimeout(resolve, left);
                this.waiters.push(() => { clearTimeout(timer); resolve(); });
            });
        }
    }
    close() {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
    take(request) {
        for (const resourceSpans of request.resourceSpans ?? []) {
            const resource = flatten(resourceSpans.resource?.attributes);
            for (const scope of resourceSpans.scopeSpans ?? []) {
                for (const span of scope.spans ?? []) {
                    this.spans.push({
                        traceId: span['traceId'],
                        spanId: span['spanId'],
                        parentSpanId: span['parentSpanId'] ?? '',
                        name: span['name'],
                        kind: span['kind'],
                        attributes: flatten(span['attributes']),
                        links: (span['links'] ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
                        status: span['status'] ?? {},
                        events: (span['events'] ?? []).map((e) => ({ name: e.name, attributes: flatten(e.attributes) })),
                        resource,
                    });
                }
            }
        }
    }
}
//# sourceMappingURL=otlp-receiver.js.map