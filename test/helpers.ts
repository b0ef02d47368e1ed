import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { crc32 } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp, type AppDependencies } from '../src/app.js';
import { configWith, type Config } from '../src/config.js';
import { UpstreamClient, type UpstreamClientOptions } from '../src/grpc/upstream-client.js';
import { tarGzOfSize } from './tar-gz.js';
import { startReferenceUpstream, type ReferenceUpstream, type ReferenceUpstreamOptions, type UploadObservation } from '../src/reference-upstream/server.js';

export interface Stack {
  baseUrl: string;
  app: FastifyInstance;
  upstream: UpstreamClient;
  reference: ReferenceUpstream;
  dataDir: string;
  /** Every call the reference upstream finished, in order. */
  observed: UploadObservation[];
  /** Every call the reference upstream saw start, in order (the same objects `observed` gets when they end). */
  opened: UploadObservation[];
  /** Resolves with the next call the reference upstream finishes. */
  nextObservation(): Promise<UploadObservation>;
}

export interface StackOptions {
  config?: Partial<Config>;
  reference?: Partial<ReferenceUpstreamOptions>;
  /** Talk to this gRPC target instead of the reference upstream (which still runs, unused). */
  target?: string;
  /** Credentials, channel options… for the bridge's upstream client. */
  upstream?: Partial<UpstreamClientOptions>;
  /** The app's logger option (default: none). */
  logger?: AppDependencies['logger'];
  /** Import-from-URL overrides (e.g. a resolver). */
  imports?: AppDependencies['imports'];
  /** Node HTTP server options (e.g. a short headersTimeout). */
  http?: AppDependencies['http'];
  /** How long a new cleartext connection may stay silent (the preface sniff). */
  prefaceTimeoutMs?: AppDependencies['prefaceTimeoutMs'];
  /** Where Idempotency-Keys live (default: the app's own memory store). */
  idempotencyStore?: AppDependencies['idempotencyStore'];
  /** Where async imports are kept (default: the app's own memory store). */
  importJobs?: AppDependencies['importJobs'];
}

/**
 * Where a starter registers its clean-up: a test's TestContext, or a benchmark's own list
 * (bench/teardown.ts). Hooks run in the order they were added.
 */
export interface Teardown {
  after(fn: () => unknown): void;
}

/** The real bridge on port 0 in front of the real reference upstream on port 0, torn down after the test. */
export async function startStack(t: Teardown, options: StackOptions = {}): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bridge-test-'));
  const reference = await startReferenceUpstream({ dataDir, ...options.reference });
  // As `npm start` does: builds go to the reference upstream's CreateBuild API unless a test says otherwise.
  const config = configWith({ host: '127.0.0.1', port: 0, dataDir, apiUrl: reference.apiUrl, ...options.config });
  const upstream = new UpstreamClient({ target: options.target ?? reference.target, responseTimeoutMs: config.upstreamResponseTimeoutMs, ...options.upstream });
  const app = await buildApp(config, { upstream, logger: options.logger ?? false, imports: options.imports, http: options.http, prefaceTimeoutMs: options.prefaceTimeoutMs, idempotencyStore: options.idempotencyStore, importJobs: options.importJobs });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const scheme = config.tlsCertFile ? 'https' : 'http';
  const observed: UploadObservation[] = [];
  const opened: UploadObservation[] = [];
  reference.events.on('upload', (o: UploadObservation) => observed.push(o));
  reference.events.on('call', (o: UploadObservation) => opened.push(o));
  t.after(async () => {
    // Hooks run in the order they were added: a browser context closed after this one may still hold a
    // connection that is not idle, which app.close() would wait for forever. The test is over: cut them.
    const closed = app.close();
    app.server.closeAllConnections();
    await closed;
    upstream.close();
    await reference.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    baseUrl: `${scheme}://127.0.0.1:${address.port}`,
    app,
    upstream,
    reference,
    dataDir,
    observed,
    opened,
    nextObservation: () => new Promise((resolve) => reference.events.once('upload', resolve)),
  };
}

/**
 * A real tar.gz of exactly `size` bytes (one file of random bytes in stored
 * deflate blocks), as cheap as random bytes; below 85 bytes only a cut one
 * (see tarGzOfSize).
 */
export function gzipLike(size: number): Buffer {
  return tarGzOfSize(size);
}

/** A real zip archive with one stored (uncompressed) entry. */
export function zipOf(fileName: string, content: Buffer): Buffer {
  const name = Buffer.from(fileName);
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + content.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, content, central, name, end]);
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export async function storedBytes(stack: Stack, contextId: string): Promise<Buffer> {
  return readFile(stack.reference.store.path(contextId));
}

/** Everything in the contexts directory: stored contexts, records and leftover temp files. */
export async function dataDirEntries(stack: Stack): Promise<string[]> {
  return readdir(stack.reference.store.dir);
}

export interface CurlResult {
  status: number;
  /** `%{http_version}`: 1.1 or 2. */
  version: string;
  body: string;
  exitCode: number;
  stderr: string;
}

/** Runs the real curl binary; `-w` appends the protocol version and status on a line of their own. */
export function curl(args: string[], stdin?: Buffer): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '-w', '\n%{http_version} %{http_code}', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.on('close', (exitCode) => {
      const text = Buffer.concat(out).toString();
      const cut = text.lastIndexOf('\n');
      const [version = '', status = '0'] = text.slice(cut + 1).split(' ');
      resolve({ body: text.slice(0, cut), version, status: Number(status), exitCode: exitCode ?? -1, stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end(stdin);
  });
}

/** A loopback port nothing listens on (right now): for an unreachable upstream, or a process to bind. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type FormPart = { name: string; value: string } | { name: string; filename: string; data: Buffer };

/**
 * A multipart/form-data body built by hand, byte for byte what a browser sends.
 * (undici 7's FormData body never leaves the client on Node 24 when the server
 * runs in the same process, so the tests do not depend on it.)
 */
export function multipartForm(parts: FormPart[], { boundary = `----bridge-test-${randomBytes(8).toString('hex')}`, close = true } = {}) {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const file = 'filename' in part;
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${file ? `; filename="${part.filename}"\r\nContent-Type: application/octet-stream` : ''}\r\n\r\n`));
    pieces.push(file ? part.data : Buffer.from(part.value));
    pieces.push(Buffer.from('\r\n'));
  }
  if (close) pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/**
 * One small upload through the bridge, awaited until the upstream observed it:
 * afterwards the gRPC channel is connected, so a call the bridge opens reaches
 * the upstream (one cancelled while the channel still connects never does, and
 * the upstream would have nothing to observe).
 */
export async function warmUp(stack: Stack): Promise<void> {
  const observed = stack.nextObservation();
  const res = await request(`${stack.baseUrl}/v1/ignite/contexts/warm-up.tar.gz`, { method: 'PUT', body: gzipLike(1000) });
  const text = await res.body.text();
  if (res.statusCode !== 200 && res.statusCode !== 504) throw new Error(`warm-up upload failed: ${res.statusCode} ${text}`);
  await observed;
}

/** Where the upstream stood at some moment: calls opened so far and the data dir's entries. */
export interface UpstreamMark {
  opened: number;
  entries: string[];
}

export async function markUpstream(stack: Stack): Promise<UpstreamMark> {
  return { opened: stack.opened.length, entries: (await dataDirEntries(stack)).sort() };
}

/**
 * Proves the upstream kept nothing since `since`, without sleeping: a sentinel
 * upload through the same bridge and channel opens its call after every call
 * the bridge opened before it, so once the sentinel is stored every earlier
 * call is known; each is awaited to its end and must not have been stored,
 * and the data dir holds nothing new but the sentinel. Returns the calls
 * opened since the mark (the sentinel excluded), ended.
 */
export async function assertNothingStored(stack: Stack, since: UpstreamMark = { opened: 0, entries: [] }): Promise<UploadObservation[]> {
  const res = await request(`${stack.baseUrl}/v1/ignite/contexts/${SENTINEL}`, { method: 'PUT', body: gzipLike(100) });
  const answer = await res.body.json() as { contextId?: string };
  if (res.statusCode !== 200 || !answer.contextId) throw new Error(`the sentinel upload failed: ${res.statusCode} ${JSON.stringify(answer)}`);
  const opened = stack.opened.slice(since.opened);
  const sentinel = opened.findIndex((o) => o.contextId === answer.contextId);
  if (sentinel < 0) throw new Error('the sentinel call was not seen opening');
  // Earlier sentinels (a test may prove absence more than once) are expected, and stored.
  const sentinels = opened.slice(0, sentinel + 1).filter((o) => o.metadata?.name === SENTINEL);
  const earlier = opened.slice(0, sentinel).filter((o) => o.metadata?.name !== SENTINEL);
  await Promise.all(earlier.map((call) => ended(stack, call)));
  for (const call of earlier) {
    if (call.outcome === 'stored') throw new Error(`a call was stored: ${JSON.stringify(call)}`);
  }
  const expected = [...since.entries, ...sentinels.flatMap((o) => [o.contextId!, `${o.contextId}.json`])].sort();
  const entries = (await dataDirEntries(stack)).sort();
  if (entries.join() !== expected.join()) throw new Error(`the data dir holds ${entries.join()}, expected ${expected.join()}`);
  return earlier;
}

const SENTINEL = 'sentinel.tar.gz';

/** Resolves once the upstream reported `call` ended, however it ended. */
function ended(stack: Stack, call: UploadObservation): Promise<void> {
  if (stack.observed.includes(call)) return Promise.resolve();
  return new Promise((resolve) => {
    const onEnd = (o: UploadObservation) => {
      if (o !== call) return;
      stack.reference.events.off('upload', onEnd);
      resolve();
    };
    stack.reference.events.on('upload', onEnd);
  });
}

/**
 * A refusal in the contract's shape: the status, a body of exactly
 * `{code, message, details}` with the gRPC code, a message that says what
 * went wrong, and exactly one google.rpc.ErrorInfo of the bridge's domain in
 * `details` (its reason checked when given). `body` may be the raw text or
 * the parsed JSON. Returns the ErrorInfo.
 */
export function assertRefusal(reply: { status: number; body: unknown }, status: number, code: number, message?: RegExp, reason?: string): ErrorInfoJson {
  const body = (typeof reply.body === 'string' ? JSON.parse(reply.body || '{}') : reply.body) as Record<string, unknown>;
  assert.equal(reply.status, status, JSON.stringify(body));
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message'], JSON.stringify(body));
  assert.equal(body['code'], code, JSON.stringify(body));
  assert.equal(typeof body['message'], 'string');
  if (message) assert.match(body['message'] as string, message);
  const details = body['details'] as Array<Record<string, unknown>>;
  const infos = details.filter((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
  assert.equal(infos.length, 1, `exactly one ErrorInfo in ${JSON.stringify(details)}`);
  const info = infos[0] as unknown as ErrorInfoJson;
  assert.equal(info.domain, 'ignite-upload-bridge');
  assert.match(info.reason, /^[A-Z][A-Z0-9_]*$/);
  assert.equal(typeof info.metadata, 'object');
  for (const value of Object.values(info.metadata)) assert.equal(typeof value, 'string');
  if (reason) assert.equal(info.reason, reason, JSON.stringify(body));
  return info;
}

export interface ErrorInfoJson {
  '@type': string;
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}
