import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
const run = promisify(execFile);
/** A self-signed certificate for 127.0.0.1/localhost, made with openssl, removed after the test. */
export async function selfSignedCert(t) {
    const dir = await mkdtemp(join(tmpdir(), 'bridge-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const cert = join(dir, 'server.pem');
    const key = join(dir, 'server.key');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
        '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    return { cert, key };
}
/** The real curl binary; `-w` appends the protocol version and status on a line of their own. */
export function curlVersioned(args, stdin) {
    return new Promise((resolve, reject) => {
        const child = spawn('curl', ['-sS', '-w', '\n%{http_version} %{http_code}', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        const out = [];
        const err = [];
        child.stdout.on('data', (d) => out.push(d));
        child.stderr.on('data', (d) => err.push(d));
        child.on('error', reject);
        child.stdin.on('error', () => { });
        child.on('close', (exitCode) => {
            const text = Buffer.concat(out).toString();
            const cut = text.lastIndexOf('\n');
            const [version = '', status = '0'] = text.slice(cut + 1).split(' ');
            resolve({ body: text.slice(0, cut), version, status: Number(status), exitCode: exitCode ?? -1, stderr: Buffer.concat(err).toString() });
        });
        child.stdin.end(stdin);
    });
}
/** A node:http2 client session (h2c prior knowledge, or TLS without verification), closed after the test. */
export async function h2Session(t, baseUrl) {
    const session = connect(baseUrl, { rejectUnauthorized: false });
    session.on('error', () => { });
    t.after(() => session.destroy());
    await new Promise((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
    });
    return session;
}
/** The answer on one stream, read to its end. */
export function answerOf(stream) {
    return new Promise((resolve, reject) => {
        let headers = {};
        const pieces = [];
        stream.on('response', (h) => { headers = h; });
        stream.on('data', (d) => pieces.push(d));
        stream.on('error', reject);
        stream.on('end', () => {
            const body = Buffer.concat(pieces).toString();
            let json = {};
            try {
                json = JSON.parse(body);
            }
            catch { /* not JSON */ }
            resolve({ status: Number(headers[':status']), headers, body, json });
        });
    });
}
/** Writes `bytes` in pieces, waiting for the stream's flow control ('drain'); resolves with the bytes the stream took. */
export async function writeAll(stream, bytes, piece = 64 * 1024, onWritten) {
    let written = 0;
    for (let at = 0; at < bytes.length; at += piece) {
        const part = bytes.subarray(at, at + piece);
        const more = stream.write(part, () => {
            written += part.length;
            onWritten?.(written);
        });
        if (!more)
            await new Promise((resolve, reject) => {
                stream.once('drain', resolve);
                stream.once('close', () => reject(new Error('the stream closed while writing')));
            });
    }
}
//# sourceMappingURL=h2.js.map