import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { multipartForm } from './helpers.js';

/** The documented signature: hex HMAC-SHA256 of `timestamp + "." + raw body`. */
export function signatureHeaders(secret: string, body: Buffer, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return { 'x-signature-timestamp': String(timestamp), 'x-signature-256': `sha256=${mac}` };
}

/** A multipart/form-data body built by hand, so the exact raw bytes can be signed. */
export function multipartBody(fileName: string, content: Buffer): { body: Buffer; contentType: string } {
  const form = multipartForm([{ name: 'file', filename: fileName, data: content }]);
  return { body: form.body, contentType: form.headers['content-type'] };
}

export interface SourceServer {
  port: number;
  /** http://127.0.0.1:port */
  origin: string;
  /** Every request the server received: method, url, headers. */
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  server: Server;
}

type Handler = (req: IncomingMessage, res: ServerResponse, source: SourceServer) => void;

/** A local HTTP server standing in for an archive host; records whatever reaches it. Closed after the test. */
export async function startSource(t: TestContext, handler: Handler, host = '127.0.0.1'): Promise<SourceServer> {
  const server = createServer();
  const source: SourceServer = { port: 0, origin: '', requests: [], connections: 0, server };
  server.on('connection', () => source.connections++);
  server.on('request', (req, res) => {
    source.requests.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res, source);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  source.port = (server.address() as AddressInfo).port;
  source.origin = `http://${host.includes(':') ? `[${host}]` : host}:${source.port}`;
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return source;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
