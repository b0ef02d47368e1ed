import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { dataDirEntries, gzipLike, sha256, startStack, storedBytes, type Stack } from './helpers.js';
import { multipartBody, signatureHeaders } from './webhook-helpers.js';
import { allDocs } from './docs.js';

const SECRET = 'webhook-secret-for-tests';
const SERVICE_TOKEN = 'bridge-service-token';
/** The reference upstream only accepts this token: a signed upload succeeds only if the bridge swapped it in. */
const signedStack = (t: Parameters<typeof startStack>[0]) => startStack(t, {
  config: { webhookSecret: SECRET, serviceToken: SERVICE_TOKEN },
  reference: { token: SERVICE_TOKEN },
});

async function put(stack: Stack, name: string, body: Buffer, headers: Record<string, string>) {
  const res = await request(`${stack.baseUrl}/v1/ignite/contexts/${name}`, { method: 'PUT', body, headers });
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> };
}

/** 401 with the UNAUTHENTICATED status body. */
function expectRefused(result: { status: number; body: Record<string, unknown> }, message: RegExp) {
  assert.equal(result.status, 401, JSON.stringify(result.body));
  assert.equal(result.body['code'], 16);
  assert.match(String(result.body['message']), message);
}

describe('signed uploads (WEBHOOK_SECRET)', () => {
  test('a valid signature over a raw body is stored, sent upstream with IGNITE_SERVICE_TOKEN', async (t) => {
    const stack = await signedStack(t);
    const archive = gzipLike(3 * 524288 + 5);
    const result = await put(stack, 'signed.tar.gz', archive, signatureHeaders(SECRET, archive));
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(sha256(await storedBytes(stack, String(result.body['contextId']))), sha256(archive));
  });

  test('a multipart upload is signed over the whole raw multipart body', async (t) => {
    const stack = await signedStack(t);
    const archive = gzipLike(2 * 524288 + 99);
    const form = multipartBody('form.tar.gz', archive);
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, {
      method: 'POST', body: form.body, headers: { 'content-type': form.contentType, ...signatureHeaders(SECRET, form.body) },
    });
    const body = await res.body.json() as Record<string, unknown>;
    assert.equal(res.statusCode, 200, JSON.stringify(body));
    assert.equal(sha256(await storedBytes(stack, String(body['contextId']))), sha256(archive));

    // The same form signed over the archive bytes alone is not the raw body: refused.
    const wrong = await request(`${stack.baseUrl}/v1/ignite/contexts`, {
      method: 'POST', body: form.body, headers: { 'content-type': form.contentType, ...signatureHeaders(SECRET, archive) },
    });
    assert.equal(wrong.statusCode, 401);
    await wrong.body.dump();
    assert.equal(stack.observed.filter((o) => o.outcome === 'stored').length, 1);
  });

  test('wrong secret and a body altered by one byte are cancelled before the half-close: 401, nothing stored', async (t) => {
    const stack = await signedStack(t);
    const archive = gzipLike(3 * 524288 + 5);

    const cancelled = stack.nextObservation();
    expectRefused(await put(stack, 'a.tar.gz', archive, signatureHeaders('not-the-secret', archive)), /does not match/);
    // The body streamed upstream (the MAC is only known at the end) and the call was cancelled, not committed.
    const seen = await cancelled;
    assert.equal(seen.outcome, 'cancelled', JSON.stringify(seen));
    assert.ok(seen.bytes > 0, 'chunks reached the upstream before the check');
    assert.deepEqual(await dataDirEntries(stack), []);

    const altered = Buffer.from(archive);
    altered[altered.length - 1] ^= 0x01;
    const cancelledAgain = stack.nextObservation();
    expectRefused(await put(stack, 'b.tar.gz', altered, signatureHeaders(SECRET, archive)), /does not match/);
    const seenAgain = await cancelledAgain;
    assert.equal(seenAgain.outcome, 'cancelled', JSON.stringify(seenAgain));
    assert.deepEqual(await dataDirEntries(stack), []);
  });

  // Regression: the grpc-js reference upstream used to take the reset that follows a failed check for
  // a clean end, and store a chunked upload (no expected size to compare) truncated.
  test('a chunked upload with a wrong signature is never stored, however the cancel races the last chunks', async (t) => {
    const stack = await signedStack(t);
    const archive = gzipLike(3 * 524288 + 5);
    for (let i = 0; i < 5; i++) {
      const cancelled = stack.nextObservation();
      const res = await request(`${stack.baseUrl}/v1/ignite/contexts/chunked.tar.gz`, {
        method: 'PUT', body: Readable.from([archive]), headers: signatureHeaders('wrong', archive),
      });
      assert.equal(res.statusCode, 401);
      await res.body.dump();
      const seen = await cancelled;
      assert.equal(seen.metadata?.expectedSizeBytes, '0');
      assert.equal(seen.outcome, 'cancelled', JSON.stringify(seen));
    }
    assert.deepEqual(await dataDirEntries(stack), []);
  });

  test('stale timestamp, missing or malformed headers are refused before the body: 401, upstream never called', async (t) => {
    const stack = await signedStack(t);
    const archive = gzipLike(1024);
    const now = Math.floor(Date.now() / 1000);
    expectRefused(await put(stack, 'c.tar.gz', archive, signatureHeaders(SECRET, archive, now - 301)), /away from the bridge's clock/);
    expectRefused(await put(stack, 'c.tar.gz', archive, signatureHeaders(SECRET, archive, now + 301)), /away from the bridge's clock/);
    expectRefused(await put(stack, 'c.tar.gz', archive, {}), /neither a signature nor an Authorization/);
    const { 'x-signature-256': onlySignature } = signatureHeaders(SECRET, archive);
    expectRefused(await put(stack, 'c.tar.gz', archive, { 'x-signature-256': onlySignature! }), /no X-Signature-Timestamp/);
    expectRefused(await put(stack, 'c.tar.gz', archive, { 'x-signature-256': 'sha256=abc', 'x-signature-timestamp': String(now) }), /64 hex digits/);
    assert.equal(stack.observed.length, 0, 'the upstream saw no call');
    assert.deepEqual(await dataDirEntries(stack), []);
  });

  test('with Expect: 100-continue, an unauthenticated upload gets its 401 instead of 100 Continue', async (t) => {
    const stack = await signedStack(t);
    const socket = connect(Number(new URL(stack.baseUrl).port), '127.0.0.1');
    t.after(() => socket.destroy());
    socket.write('PUT /v1/ignite/contexts/big.tar.gz HTTP/1.1\r\nHost: bridge\r\nContent-Length: 1073741824\r\nExpect: 100-continue\r\n\r\n');
    let answer = '';
    for await (const piece of socket) {
      answer += String(piece);
      if (answer.includes('\r\n\r\n') && answer.includes('}')) break;
    }
    assert.match(answer, /^HTTP\/1\.1 401 /);
    assert.doesNotMatch(answer, /100 Continue/);
    assert.match(answer, /connection: close/i);
    assert.equal(stack.observed.length, 0);
  });

  test('an Authorization header is forwarded as usual; the service token is never used without a signature', async (t) => {
    const stack = await signedStack(t);
    const archive = gzipLike(2048);
    const own = await put(stack, 'own.tar.gz', archive, { authorization: `Bearer ${SERVICE_TOKEN}` });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    // A caller with some other token gets the upstream's verdict, not the bridge's token.
    const other = await put(stack, 'other.tar.gz', archive, { authorization: 'Bearer someone-else' });
    assert.equal(other.status, 401);
    assert.equal(other.body['code'], 16);
    assert.match(String(other.body['message']), /Upstream BuildService answered UNAUTHENTICATED/);
  });

  test('the documented Node snippet signs correctly', async (t) => {
    const stack = await signedStack(t);
    const readme = await allDocs();
    const script = /```js\n(import \{ createHmac \}[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(script, 'the docs have the Node signing snippet');
    const dir = await mkdtemp(join(tmpdir(), 'bridge-signed-node-'));
    const archive = gzipLike(524288 + 3);
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    await writeFile(join(dir, 'sign.mjs'), script);
    const out = await run(process.execPath, ['sign.mjs'], dir, { BRIDGE: stack.baseUrl, WEBHOOK_SECRET: SECRET });
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /^200 /);
    assert.equal(stack.observed.filter((o) => o.outcome === 'stored').length, 1);
    assert.equal(sha256(await storedBytes(stack, stack.observed[0]!.contextId!)), sha256(archive));
  });

  test('the documented shell recipe (openssl + curl) signs correctly', async (t) => {
    const stack = await signedStack(t);
    const readme = await allDocs();
    const script = /```sh\n(# Signed upload[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(script, 'the docs have the "# Signed upload" shell block');
    const dir = await mkdtemp(join(tmpdir(), 'bridge-signed-'));
    const archive = gzipLike(524288 * 2 + 3);
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    const out = await run('bash', ['-euo', 'pipefail', '-c', script], dir, { BRIDGE: stack.baseUrl, WEBHOOK_SECRET: SECRET });
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const body = JSON.parse(out.stdout) as { contextId: string };
    assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(archive));
  });
});

function run(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
