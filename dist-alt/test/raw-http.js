import { connect } from 'node:net';
import { multipartForm } from './helpers.js';
/**
 * An HTTP/1.1 client on a bare socket: it sends exactly the bytes it is
 * given, when it is given them, so tests can send headers without a body,
 * stall mid-body, split writes anywhere, and see whether a `100 Continue`
 * was sent.
 */
export class RawClient {
    socket;
    received = Buffer.alloc(0);
    interim = [];
    final;
    waiters = [];
    /** Resolves when the server closes (or resets) the connection. */
    closed;
    written = 0;
    constructor(socket) {
        this.socket = socket;
        socket.setNoDelay(true);
        socket.on('data', (data) => {
            this.received = Buffer.concat([this.received, data]);
            this.parse();
            for (const wake of this.waiters.splice(0))
                wake();
        });
        // A reset after the reply is what some refusals end with; the test reads the reply, not the error.
        socket.on('error', () => { });
        this.closed = new Promise((resolve) => socket.once('close', () => {
            resolve();
            for (const wake of this.waiters.splice(0))
                wake();
        }));
    }
    static connect(baseUrl) {
        const url = new URL(baseUrl);
        return new Promise((resolve, reject) => {
            const socket = connect(Number(url.port), url.hostname, () => resolve(new RawClient(socket)));
            socket.once('error', reject);
        });
    }
    /** Writes and waits until the bytes are handed to the kernel; a closed socket is not an error here. */
    write(data) {
        if (this.socket.destroyed || this.socket.writableEnded)
            return Promise.resolve();
        return new Promise((resolve) => {
            this.socket.write(data, () => {
                this.written += Buffer.byteLength(data);
                resolve();
            });
        });
    }
    get answered() {
        return this.final !== undefined;
    }
    get interimStatuses() {
        return [...this.interim];
    }
    /** Resolves once a 1xx or the final response arrived. */
    async firstReply(timeoutMs = 10_000) {
        await this.until(() => this.interim.length > 0 || this.final !== undefined, timeoutMs);
        return this.interim[0] ?? this.final.status;
    }
    async response(timeoutMs = 20_000) {
        await this.until(() => this.final !== undefined, timeoutMs);
        return this.final;
    }
    /**
     * Sends the pieces one after another, each awaited, and stops as soon as the
     * final response is in (the bridge answers early on refusals).
     */
    async sendUntilAnswered(pieces, pauseMs = 0) {
        for (const piece of pieces) {
            if (this.answered || this.socket.destroyed)
                return;
            await this.write(piece);
            if (pauseMs)
                await new Promise((r) => setTimeout(r, pauseMs));
        }
    }
    destroy() {
        this.socket.destroy();
    }
    until(done, timeoutMs) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms; got ${JSON.stringify(this.received.toString('latin1').slice(0, 300))}`)), timeoutMs);
            const check = () => {
                if (done()) {
                    clearTimeout(timer);
                    resolve();
                }
                else if (this.socket.destroyed && this.received.length === 0) {
                    clearTimeout(timer);
                    reject(new Error('the connection closed without a response'));
                }
                else {
                    this.waiters.push(check);
                }
            };
            check();
        });
    }
    parse() {
        for (;;) {
            if (this.final)
                return;
            const end = this.received.indexOf('\r\n\r\n');
            if (end < 0)
                return;
            const lines = this.received.subarray(0, end).toString('latin1').split('\r\n');
            const status = Number(lines[0].split(' ')[1]);
            const headers = {};
            for (const line of lines.slice(1)) {
                const colon = line.indexOf(':');
                headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
            }
            if (status >= 100 && status < 200) {
                this.interim.push(status);
                this.received = this.received.subarray(end + 4);
                continue;
            }
            const length = Number(headers['content-length'] ?? 0);
            if (this.received.length < end + 4 + length)
                return;
            const body = this.received.subarray(end + 4, end + 4 + length).toString('utf8');
            let json = {};
            try {
                json = JSON.parse(body);
            }
            catch { /* not JSON */ }
            this.final = { interim: [...this.interim], status, headers, body, json };
        }
    }
}
/** The request head for an upload; `Expect: 100-continue` unless told otherwise. */
export function head(method, path, headers) {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
    for (const [name, value] of Object.entries(headers))
        if (value !== undefined)
            lines.push(`${name}: ${value}`);
    return `${lines.join('\r\n')}\r\n\r\n`;
}
/** Chunked transfer-encoding framing for the given pieces, with the terminating chunk. */
export function chunked(pieces) {
    const framed = [];
    for (const piece of pieces) {
        if (piece.length === 0)
            continue;
        framed.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    framed.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(framed);
}
export const BOUNDARY = '----bridge-test-boundary-7MA4YWxkTrZu0gW';
/** A multipart/form-data body with BOUNDARY: fields first, then (optionally) one file part. */
export function multipartBody(fields, file) {
    const parts = fields.map(([name, value]) => ({ name, value }));
    if (file)
        parts.push({ name: file.name ?? 'file', filename: file.filename, data: file.bytes });
    return multipartForm(parts, { boundary: BOUNDARY }).body;
}
/** Cuts bytes into pieces of the given sizes (cycling through them). */
export function* pieces(bytes, sizes) {
    let i = 0;
    for (let offset = 0; offset < bytes.length; i++) {
        const size = Math.max(1, sizes[i % sizes.length]);
        yield bytes.subarray(offset, offset + size);
        offset += size;
    }
}
/** Polls until `check` holds, or fails with `what`. */
export async function eventually(check, what, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline)
            throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}
//# sourceMappingURL=raw-http.js.map