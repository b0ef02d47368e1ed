import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServerCert {
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1/localhost, made with openssl, removed after the test. */
export async function selfSignedCert(t: { after(fn: () => unknown): void }): Promise<ServerCert> {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  return { cert, key };
}

/** A node:http2 client session (h2c prior knowledge, or TLS without verification), closed after the test. */
export async function h2Session(t: { after(fn: () => unknown): void }, baseUrl: string): Promise<ClientHttp2Session> {
  const session = connect(baseUrl, { rejectUnauthorized: false });
  session.on('error', () => {});
  t.after(() => session.destroy());
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  return session;
}

export interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

/** The answer on one stream, read to its end. */
export function answerOf(stream: ClientHttp2Stream): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    const pieces: Buffer[] = [];
    stream.on('response', (h) => { headers = h; });
    stream.on('data', (d: Buffer) => pieces.push(d));
    stream.on('error', reject);
    stream.on('end', () => {
      const body = Buffer.concat(pieces).toString();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch { /* not JSON */ }
      resolve({ status: Number(headers[':status']), headers, body, json });
    });
  });
}

/** Writes `bytes` in pieces, waiting for the stream's flow control ('drain'); resolves with the bytes the stream took. */
export async function writeAll(stream: ClientHttp2Stream, bytes: Buffer, piece = 64 * 1024, onWritten?: (bytes: number) => void): Promise<void> {
  let written = 0;
  for (let at = 0; at < bytes.length; at += piece) {
    const part = bytes.subarray(at, at + piece);
    const more = stream.write(part, () => {
      written += part.length;
      onWritten?.(written);
    });
    if (!more) await new Promise<void>((resolve, reject) => {
      stream.once('drain', resolve);
      stream.once('close', () => reject(new Error('the stream closed while writing')));
    });
  }
}
