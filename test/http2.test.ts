import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { constants } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Client } from 'undici';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../src/http/listener.js';
import type { UploadObservation } from '../src/reference-upstream/server.js';
import { spawnBridge } from './bridge-process.js';
import { answerOf, h2Session, selfSignedCert, writeAll } from './h2.js';
import { assertNothingStored, assertRefusal, curl, gzipLike, markUpstream, sha256, startStack, storedBytes, type Stack, type StackOptions } from './helpers.js';
import { eventually } from './raw-http.js';

const MIB = 1024 * 1024;

/** An HTTP source for imports, on loopback. */
async function archiveSource(t: TestContext, archive: Buffer): Promise<string> {
  const server = createHttpServer((_req, res) => res.end(archive));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * Every upload form with curl on one protocol: PUT from a file (Content-Length) and from stdin
 * (no length), POST raw, POST multipart, an import; each stored byte-exact, each answered on `version`.
 */
async function everyFormWithCurl(t: TestContext, stack: Stack, protocol: string[], version: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-h2-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const archive = gzipLike(2 * MIB + 77);
  const file = join(dir, 'ctx.tar.gz');
  await writeFile(file, archive);
  const source = await archiveSource(t, archive);
  const base = stack.baseUrl;
  const forms: Array<[string, string[], Buffer?]> = [
    ['PUT from a file', ['-T', file, `${base}/v1/ignite/contexts/put.tar.gz`]],
    ['PUT from stdin', ['-T', '-', `${base}/v1/ignite/contexts/stdin.tar.gz`], archive],
    ['POST raw', ['--data-binary', `@${file}`, '-H', 'content-type: application/gzip', `${base}/v1/ignite/contexts?name=raw.tar.gz`]],
    ['POST multipart', ['-F', `file=@${file};filename=form.tar.gz`, `${base}/v1/ignite/contexts`]],
    ['import', ['-H', 'content-type: application/json', '--data', JSON.stringify({ url: `${source}/ctx.tar.gz`, name: 'import.tar.gz' }), `${base}/v1/ignite/contexts:import`]],
  ];
  for (const [form, args, stdin] of forms) {
    const answer = await curl([...protocol, '-k', ...args], stdin);
    assert.equal(answer.status, 200, `${form}: ${answer.body} ${answer.stderr}`);
    assert.equal(answer.version, version, form);
    const { contextId, sizeBytes } = JSON.parse(answer.body) as { contextId: string; sizeBytes: string };
    assert.equal(sizeBytes, String(archive.length), form);
    assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive), `${form}: stored byte-exact`);
  }
}

describe('HTTP/2 on the bridge', () => {
  test('h2c (prior knowledge) and HTTP/1.1 on one port: curl uploads every form byte-exact on both', async (t) => {
    const stack = await startStack(t, { config: { importAllowHttp: true, importAllowPrivateAddresses: true } });
    await everyFormWithCurl(t, stack, ['--http2-prior-knowledge'], '2');
    await everyFormWithCurl(t, stack, ['--http1.1'], '1.1');
    const health = await curl(['--http2-prior-knowledge', `${stack.baseUrl}/healthz`]);
    assert.deepEqual([health.version, health.status], ['2', 200]);
    const metrics = await curl(['--http2-prior-knowledge', `${stack.baseUrl}/metrics`]);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /ignite_bridge_uploads_total\{[^}]*mode="put",outcome="ok"\} 4/);
    // An answer the bridge refuses is in the contract's shape, and nothing about HTTP/1 framing.
    const refused = await curl(['--http2-prior-knowledge', '-T', '-', `${stack.baseUrl}/v1/ignite/contexts/`], Buffer.from('x'));
    assertRefusal({ status: refused.status, body: refused.body }, 400, 3, /put it in the path/);
  });

  test('TLS: ALPN h2 and http/1.1, curl uploads every form byte-exact on both', async (t) => {
    const cert = await selfSignedCert(t);
    const stack = await startStack(t, { config: { tlsCertFile: cert.cert, tlsKeyFile: cert.key, importAllowHttp: true, importAllowPrivateAddresses: true } });
    assert.match(stack.baseUrl, /^https:/);
    await everyFormWithCurl(t, stack, ['--http2'], '2');
    await everyFormWithCurl(t, stack, ['--http1.1'], '1.1');
  });

  test('undici over h2c: several uploads at once on one connection, one refused early (413) while the others complete', async (t) => {
    const stack = await startStack(t, { config: { maxContextBytes: 4 * MIB } });
    let connections = 0;
    stack.app.server.on('connection', () => connections++);
    const client = new Client(stack.baseUrl, { allowH2: true, useH2c: true } as Client.Options);
    t.after(() => client.close());
    const archives = [gzipLike(3 * MIB + 1), gzipLike(1 * MIB + 2), gzipLike(2 * MIB + 3)];
    const tooBig = gzipLike(4 * MIB + 100);
    const put = (name: string, body: Buffer) => client.request({ method: 'PUT', path: `/v1/ignite/contexts/${name}`, body }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
    const [refused, ...stored] = await Promise.all([put('too-big.tar.gz', tooBig), ...archives.map((a, i) => put(`ok-${i}.tar.gz`, a))]);
    assertRefusal(refused!, 413, 3, undefined, 'CONTEXT_TOO_LARGE');
    for (const [i, answer] of stored.entries()) {
      assert.equal(answer.status, 200, answer.body);
      const { contextId } = JSON.parse(answer.body) as { contextId: string };
      assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archives[i]!));
    }
    assert.equal(connections, 1, 'every upload shared one connection');
    // The connection survived the refusal: one more upload on it.
    const after = await put('after.tar.gz', archives[1]!);
    assert.equal(after.status, 200, after.body);
    assert.equal(connections, 1);
  });

  test('early refusals on h2c reach curl and undici every time, each while the client still sends its body; the connection serves on', async (t) => {
    const stack = await startStack(t, { config: { maxContextBytes: MIB, webhookSecret: 'hmac-secret' } });
    const mark = await markUpstream(stack);
    const dir = await mkdtemp(join(tmpdir(), 'bridge-h2-refusals-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tooBig = join(dir, 'too-big.tar.gz');
    await writeFile(tooBig, gzipLike(4 * MIB));
    const small = join(dir, 'small.tar.gz');
    await writeFile(small, gzipLike(64 * 1024));
    const notAnArchive = Buffer.alloc(4 * MIB, 'not an archive ');
    const auth = ['-H', 'authorization: Bearer caller'];
    const contexts = `${stack.baseUrl}/v1/ignite/contexts`;
    // Each is answered before the client's body ends: curl still has END_STREAM (stdin) or most of the file to send.
    const refusals: Array<[string, string[], Buffer | undefined, number, string]> = [
      ['400 without a name, from stdin', [...auth, '-T', '-', `${contexts}/`], Buffer.from('x'), 400, 'MISSING_NAME'],
      ['413 by Content-Length', [...auth, '-T', tooBig, `${contexts}/big.tar.gz`], undefined, 413, 'CONTEXT_TOO_LARGE'],
      ['415 on the first bytes, mid-body', [...auth, '-T', '-', `${contexts}/text.tar.gz`], notAnArchive, 415, 'NOT_AN_ARCHIVE'],
      ['401 unsigned and without Authorization', ['-T', small, `${contexts}/anonymous.tar.gz`], undefined, 401, 'UNAUTHENTICATED'],
    ];
    const ROUNDS = 10;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [what, args, stdin, status, reason] of refusals) {
        const answer = await curl(['--http2-prior-knowledge', ...args], stdin);
        assert.equal(answer.version, '2', `${what}, round ${round}: ${answer.stderr}`);
        assertRefusal({ status: answer.status, body: answer.body }, status, status === 401 ? 16 : 3, undefined, reason);
      }
    }

    let connections = 0;
    stack.app.server.on('connection', () => connections++);
    const client = new Client(stack.baseUrl, { allowH2: true, useH2c: true } as Client.Options);
    t.after(() => client.close());
    /** A body still being sent when the answer comes: its last piece (and END_STREAM) follow 50 ms later. */
    const slowEnd = (head: Buffer) => Readable.from((async function* () {
      yield head;
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield Buffer.from('end');
    })());
    const put = (path: string, body: Buffer | Readable, headers: Record<string, string> = { authorization: 'Bearer caller' }) =>
      client.request({ method: 'PUT', path: `/v1/ignite/contexts/${path}`, body, headers }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
    for (let round = 0; round < ROUNDS; round++) {
      assertRefusal(await put('', slowEnd(Buffer.from('x'))), 400, 3, undefined, 'MISSING_NAME');
      assertRefusal(await put('big.tar.gz', gzipLike(4 * MIB)), 413, 3, undefined, 'CONTEXT_TOO_LARGE');
      assertRefusal(await put('text.tar.gz', slowEnd(notAnArchive)), 415, 3, undefined, 'NOT_AN_ARCHIVE');
      assertRefusal(await put('anonymous.tar.gz', slowEnd(gzipLike(64 * 1024)), {}), 401, 16, undefined, 'UNAUTHENTICATED');
    }
    assert.equal(connections, 1, 'every refusal was a stream of one connection');
    const archive = gzipLike(MIB - 100);
    const stored = await put('after.tar.gz', archive);
    assert.equal(stored.status, 200, stored.body);
    assert.equal(sha256(await storedBytes(stack, (JSON.parse(stored.body) as { contextId: string }).contextId)), sha256(archive));
    assert.equal(connections, 1);
    assert.equal(stack.opened.length - mark.opened, 1, 'no refused upload opened an upstream call');
  });

  test('a client that resets its stream before END_STREAM: the upstream call is cancelled, nothing is stored, the connection serves on', async (t) => {
    const stack = await startStack(t);
    const mark = await markUpstream(stack);
    const session = await h2Session(t, stack.baseUrl);
    const archive = gzipLike(4 * MIB);
    // Mid-body, and after every byte of a whole archive: without END_STREAM neither is a complete body.
    for (const sent of [2 * MIB, archive.length]) {
      const opened = once(stack.reference.events, 'call');
      const stream = session.request({ ':method': 'PUT', ':path': '/v1/ignite/contexts/reset.tar.gz' });
      stream.on('error', () => {});
      await writeAll(stream, archive.subarray(0, sent));
      const [call] = await opened as [UploadObservation];
      // Whole chunks are passed on as they arrive: the upstream has every byte sent.
      await eventually(() => call.bytes === sent, `the upstream received ${sent} bytes`);
      const ended = stack.nextObservation();
      // RST_STREAM(CANCEL) with no END_STREAM before it (Http2Stream.close() would send END_STREAM first).
      stream.destroy();
      assert.equal((await ended).outcome, 'cancelled', `reset after ${sent} bytes`);
    }
    await assertNothingStored(stack, mark);
    // The same connection still uploads.
    const next = session.request({ ':method': 'PUT', ':path': '/v1/ignite/contexts/next.tar.gz' });
    const answer = answerOf(next);
    await writeAll(next, archive);
    next.end();
    const done = await answer;
    assert.equal(done.status, 200, done.body);
    assert.equal(sha256(await storedBytes(stack, String(done.json['contextId']))), sha256(archive));
  });

  test('a slow upstream holds the client back through the windows: the bridge buffers at most one stream window', async (t) => {
    // The upstream stops reading after 1 MiB: whatever the client got to send beyond that sits in the bridge's windows.
    const stack = await startStack(t, { reference: { faults: { stopReadingAfterBytes: MIB } }, config: { uploadIdleTimeoutMs: 60_000, upstreamResponseTimeoutMs: 60_000 } });
    const session = await h2Session(t, stack.baseUrl);
    assert.equal(session.remoteSettings.initialWindowSize, STREAM_WINDOW_BYTES);
    const stream = session.request({ ':method': 'PUT', ':path': '/v1/ignite/contexts/slow.tar.gz' });
    stream.on('error', () => {});
    let sent = 0;
    void writeAll(stream, gzipLike(64 * MIB), 64 * 1024, (n) => { sent = n; }).catch(() => {});
    // Sending stops once the windows are full.
    let last = -1;
    await eventually(async () => {
      const stalled = sent === last && sent > 0;
      last = sent;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return stalled;
    }, 'the client is held back', 20_000);
    const call = stack.opened.at(-1)!;
    const upstream = call.bytes ?? 0;
    // What the upstream did not take is in the bridge: the stream window, plus what grpc-js queues for the upstream.
    const buffered = sent - upstream;
    t.diagnostic(`client sent ${sent} bytes, upstream received ${upstream}: ${buffered} bytes held between them`);
    assert.ok(sent < STREAM_WINDOW_BYTES + 8 * MIB, `the client was held back (sent ${sent} of 64 MiB)`);
    assert.ok(buffered <= STREAM_WINDOW_BYTES + 8 * MIB, `buffered ${buffered} bytes: one stream window plus the gRPC queue at most`);
    assert.ok(STREAM_WINDOW_BYTES <= CONNECTION_WINDOW_BYTES);
    stream.destroy();
  });

  test('more streams than the SETTINGS cap: the cap is advertised, no more run at once, all complete', async (t) => {
    const stack = await startStack(t, { config: { maxConcurrentUploads: 2 }, reference: { faults: { chunkDelayMs: 20 } } });
    const session = await h2Session(t, stack.baseUrl);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 2);
    let running = 0;
    let most = 0;
    stack.reference.events.on('call', () => { most = Math.max(most, ++running); });
    stack.reference.events.on('upload', () => { running--; });
    const client = new Client(stack.baseUrl, { allowH2: true, useH2c: true } as Client.Options);
    t.after(() => client.close());
    const archives = Array.from({ length: 5 }, (_, i) => gzipLike(MIB + i));
    const answers = await Promise.all(archives.map((body, i) => client.request({ method: 'PUT', path: `/v1/ignite/contexts/capped-${i}.tar.gz`, body })
      .then(async (res) => ({ status: res.statusCode, body: await res.body.text() }))));
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 200, answer.body);
      assert.equal(sha256(await storedBytes(stack, (JSON.parse(answer.body) as { contextId: string }).contextId)), sha256(archives[i]!));
    }
    assert.ok(most <= 2, `at most 2 uploads ran at once (saw ${most})`);
  });

  test('a connection that sends nothing is closed by the preface timeout; HTTP/1.1 and h2c still tell apart after it', async (t) => {
    const stack = await startStack(t, { prefaceTimeoutMs: 300 } satisfies StackOptions);
    const { port } = new URL(stack.baseUrl);
    for (const first of [undefined, 'PRI * HTTP/2.0\r\n']) {
      const socket = tcpConnect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      if (first) socket.write(first);
      const started = Date.now();
      await once(socket, 'close');
      const waited = Date.now() - started;
      assert.ok(waited >= 250 && waited < 5000, `closed after ${waited} ms`);
    }
    assert.equal((await curl(['--http2-prior-knowledge', `${stack.baseUrl}/healthz`])).status, 200);
    assert.equal((await curl(['--http1.1', `${stack.baseUrl}/healthz`])).status, 200);
  });

  test('HTTP2=false serves HTTP/1.1 only: the h2c preface is refused', async (t) => {
    const stack = await startStack(t, { config: { http2: false } });
    const h2 = await curl(['--http2-prior-knowledge', `${stack.baseUrl}/healthz`]);
    assert.notEqual(h2.exitCode, 0, 'curl got no HTTP/2 answer');
    assert.notEqual(h2.version, '2');
    const h1 = await curl(['--http1.1', '-T', '-', `${stack.baseUrl}/v1/ignite/contexts/h1.tar.gz`], gzipLike(1000));
    assert.deepEqual([h1.version, h1.status], ['1.1', 200]);
  });

  test('SIGTERM: GOAWAY on the HTTP/2 connection, and the stream in flight on it completes within the grace', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-h2-shutdown-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const bridge = await spawnBridge(t, { IGNITE_DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: '20000' });
    const session = await h2Session(t, bridge.url);
    const goaway = once(session, 'goaway');
    const stream = session.request({ ':method': 'PUT', ':path': '/v1/ignite/contexts/in-flight.tar.gz' });
    const answer = answerOf(stream);
    const archive = gzipLike(3 * MIB);
    await writeAll(stream, archive.subarray(0, MIB));
    await eventually(async () => {
      const res = await fetch(`${bridge.url}/readyz`);
      return ((await res.json()) as { uploadsInFlight: number }).uploadsInFlight === 1;
    }, 'the upload is in flight');
    bridge.child.kill('SIGTERM');
    const [code] = await goaway as [number];
    assert.equal(code, constants.NGHTTP2_NO_ERROR);
    await writeAll(stream, archive.subarray(MIB));
    stream.end();
    const done = await answer;
    assert.equal(done.status, 200, done.body);
    const contextId = String(done.json['contextId']);
    assert.equal(sha256(await readFile(join(dataDir, 'contexts', contextId))), sha256(archive));
    assert.equal(await bridge.exited, 0, bridge.logs.join('\n'));
    assert.deepEqual((await readdir(join(dataDir, 'contexts'))).sort(), [contextId, `${contextId}.json`]);
  });
});
