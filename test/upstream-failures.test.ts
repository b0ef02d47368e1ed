import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { curl, dataDirEntries, gzipLike, startStack, unusedPort } from './helpers.js';

/** A large body produced lazily, remembering how much of it was produced so far. */
function trackedBody(totalBytes: number) {
  const piece = gzipLike(256 * 1024);
  const state = { produced: 0 };
  async function* generate() {
    while (state.produced < totalBytes) {
      state.produced += piece.length;
      yield piece;
      // Let the response (if any) be read while we are still sending.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { state, stream: Readable.from(generate()) };
}

describe('upstream refusals reach the client', () => {
  test('a missing token is answered 401 while a large body is still being sent', async (t) => {
    const stack = await startStack(t, { reference: { token: 'sekret' } });
    const total = 1024 * 1024 * 1024;
    const body = trackedBody(total);
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts/big.tar.gz`, {
      method: 'PUT', body: body.stream, headers: { 'content-length': String(total) },
    });
    const sentWhenAnswered = body.state.produced;
    const json = (await res.body.json()) as { code: number; message: string };
    assert.equal(res.statusCode, 401);
    assert.equal(json.code, 16);
    assert.match(json.message, /UNAUTHENTICATED.*Authorization: Bearer/);
    assert.equal(res.headers['connection'], 'close');
    assert.ok(sentWhenAnswered < total / 4, `answered after ${sentWhenAnswered} of ${total} bytes`);
    body.stream.destroy();
    assert.deepEqual(await dataDirEntries(stack), []);
  });

  test('curl sending a large file reads the 401 (no reset before the reply)', async (t) => {
    const stack = await startStack(t, { reference: { token: 'sekret' } });
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- path's functions do not use `this`
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'bridge-big-'));
    const file = join(dir, 'big.tar.gz');
    await writeFile(file, gzipLike(200 * 1024 * 1024));
    t.after(() => import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true })));
    const result = await curl(['-T', file, `${stack.baseUrl}/v1/ignite/contexts/`]);
    assert.equal(result.status, 401, result.stderr);
    assert.equal(JSON.parse(result.body).code, 16);
  });

  test('with the right token the same upload is stored', async (t) => {
    const stack = await startStack(t, { reference: { token: 'sekret' } });
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts/ok.tar.gz`, {
      method: 'PUT', body: gzipLike(2_000_000), headers: { authorization: 'Bearer sekret' },
    });
    assert.equal(res.statusCode, 200);
    const { contextId } = (await res.body.json()) as { contextId: string };
    assert.ok((await dataDirEntries(stack)).includes(contextId));
  });

  test('an upstream that is not running is a 503 with code 14', async (t) => {
    const stack = await startStack(t, { target: `127.0.0.1:${await unusedPort()}` });
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts/x.tar.gz`, { method: 'PUT', body: gzipLike(100_000) });
    const json = (await res.body.json()) as { code: number; message: string };
    assert.equal(res.statusCode, 503);
    assert.equal(json.code, 14);
    assert.match(json.message, /UNAVAILABLE.*retry later/);
  });

  test('an upstream error mid-upload is mapped as grpc-gateway maps it', async (t) => {
    const cases: Array<[number, number]> = [[8, 429], [7, 403], [9, 400], [13, 500], [3, 400]];
    for (const [code, http] of cases) {
      const stack = await startStack(t, { reference: { faults: { failAfterBytes: { bytes: 1024 * 1024, code, details: 'injected' } } } });
      const observed = stack.nextObservation();
      const res = await request(`${stack.baseUrl}/v1/ignite/contexts/x.tar.gz`, { method: 'PUT', body: gzipLike(4 * 1024 * 1024) });
      const json = (await res.body.json()) as { code: number; message: string };
      assert.equal(res.statusCode, http, `gRPC ${code}`);
      assert.equal(json.code, code);
      assert.match(json.message, /injected/);
      // The upstream answers first and removes its temp file right after.
      assert.equal((await observed).outcome, 'failed');
      assert.deepEqual(await dataDirEntries(stack), []);
    }
  });
});

describe('an early reply survives a client that keeps sending', () => {
  test('the client reads the 401 although it only looks after writing more body bytes', async (t) => {
    const stack = await startStack(t, { reference: { token: 'sekret' } });
    const { port } = new URL(stack.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});
    // Listened for before writing: the bridge may end the connection while this loop still writes.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const declared = 1024 * 1024 * 1024;
    socket.write(`PUT /v1/ignite/contexts/x.tar.gz HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
    const piece = gzipLike(64 * 1024);
    // Keep writing without reading for a while: the reply is already waiting in our receive buffer. Never past
    // the declared length (loopback takes a GiB in well under the 400 ms): bytes after the body are another
    // request, which Node's parser refuses by resetting the connection.
    const until = Date.now() + 400;
    let written = 0;
    while (Date.now() < until && !socket.destroyed && written + piece.length <= declared) {
      written += piece.length;
      if (!socket.write(piece)) await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => setTimeout(r, 50))]);
      else await new Promise((r) => setImmediate(r));
    }
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.resume();
    await closed;
    const text = Buffer.concat(received).toString();
    assert.match(text, /^HTTP\/1\.1 401 /, `got: ${text.slice(0, 80) || '(nothing: the connection was reset)'}`);
    assert.match(text, /connection: close/i);
    assert.match(text, /"code":16/);
  });
});
