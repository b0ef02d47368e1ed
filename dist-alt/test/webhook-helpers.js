import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { multipartForm } from './helpers.js';
/** The documented signature: hex HMAC-SHA256 of `timestamp + "." + raw body`. */
export function signatureHeaders(secret, body, timestamp = Math.floor(Date.now() / 1000)) {
    const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
    return { 'x-signature-timestamp': String(timestamp), 'x-signature-256': `sha256=${mac}` };
}
/** A multipart/form-data body built by hand, so the exact raw bytes can be signed. */
export function multipartBody(fileName, content) {
    const form = multipartForm([{ name: 'file', filename: fileName, data: content }]);
    return { body: form.body, contentType: form.headers['content-type'] };
}
/** A local HTTP server standing in for an archive host; records whatever reaches it. Closed after the test. */
export async function startSource(t, handler, host = '127.0.0.1') {
    const server = createServer();
    const source = { port: 0, origin: '', requests: [], connections: 0, server };
    server.on('connection', () => source.connections++);
    server.on('request', (req, res) => {
        source.requests.push({ url: req.url ?? '', headers: req.headers });
        handler(req, res, source);
    });
    await new Promise((resolve) => server.listen(0, host, resolve));
    source.port = server.address().port;
    source.origin = `http://${host.includes(':') ? `[${host}]` : host}:${source.port}`;
    t.after(() => new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
    }));
    return source;
}
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
//# sourceMappingURL=webhook-helpers.js.map