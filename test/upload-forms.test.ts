import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { curl, gzipLike, sha256, startStack, storedBytes, zipOf, type Stack, multipartForm } from './helpers.js';

const CHUNK = 524288;
const SIZES = [1024, CHUNK, CHUNK + 1, 20 * 1024 * 1024 + 123];

interface Sent {
  bytes: Buffer;
  name: string;
  contentType: string;
  /** expected_size_bytes the upstream should see. */
  expectedSize: string;
}

async function* slowly(bytes: Buffer, piece = 100_000): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += piece) yield bytes.subarray(i, i + piece);
}

type Form = (stack: Stack, sent: Sent) => Promise<{ status: number; body: unknown; headers: Record<string, unknown> }>;

const forms: Record<string, Form> = {
  'PUT raw with Content-Length': async (stack, sent) => {
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts/${encodeURIComponent(sent.name)}`, { method: 'PUT', body: sent.bytes });
    return { status: res.statusCode, body: await res.body.json(), headers: res.headers };
  },
  'POST raw chunked with ?name=': async (stack, sent) => {
    sent.expectedSize = '0';
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts?name=${encodeURIComponent(sent.name)}`, {
      method: 'POST', body: Readable.from(slowly(sent.bytes)), headers: { 'content-type': 'application/octet-stream' },
    });
    return { status: res.statusCode, body: await res.body.json(), headers: res.headers };
  },
  'POST raw with Content-Disposition filename': async (stack, sent) => {
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, {
      method: 'POST', body: sent.bytes, headers: { 'content-disposition': `attachment; filename="${sent.name}"` },
    });
    return { status: res.statusCode, body: await res.body.json(), headers: res.headers };
  },
  'POST multipart with name and expectedSizeBytes fields': async (stack, sent) => {
    const form = multipartForm([
      { name: 'name', value: sent.name },
      { name: 'expectedSizeBytes', value: String(sent.bytes.length) },
      { name: 'file', filename: 'ignored-file-name.bin', data: sent.bytes },
    ]);
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', ...form });
    return { status: res.statusCode, body: await res.body.json(), headers: res.headers };
  },
  'POST multipart named by the file part': async (stack, sent) => {
    sent.expectedSize = '0';
    const form = multipartForm([{ name: 'file', filename: sent.name, data: sent.bytes }]);
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', ...form });
    return { status: res.statusCode, body: await res.body.json(), headers: res.headers };
  },
};

async function expectStored(stack: Stack, sent: Sent, result: Awaited<ReturnType<Form>>) {
  assert.equal(result.status, 200, JSON.stringify(result.body));
  const body = result.body as { contextId: string; sizeBytes: string };
  assert.match(body.contextId, /^ctx_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(body.sizeBytes, String(sent.bytes.length));
  assert.deepEqual(Object.keys(body).sort(), ['contextId', 'sizeBytes']);
  assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(sent.bytes));
  // Nothing asked for a digest (no Want-Repr-Digest, no declared digest, no Idempotency-Key): none is computed.
  assert.equal(result.headers['repr-digest'], undefined);
  const seen = stack.observed.find((o) => o.contextId === body.contextId);
  assert.ok(seen, 'the reference upstream observed the call');
  assert.deepEqual(seen.metadata, { name: sent.name, contentType: sent.contentType, expectedSizeBytes: sent.expectedSize });
  assert.equal(seen.bytes, sent.bytes.length);
  assert.equal(seen.chunks, Math.ceil(sent.bytes.length / CHUNK));
  assert.deepEqual(seen.sizesBeforeLast, seen.chunks > 1 ? [CHUNK] : [], 'every chunk but the last is exactly CHUNK bytes');
  assert.ok(seen.lastChunk > 0 && seen.lastChunk <= CHUNK, `the last chunk is ${seen.lastChunk} bytes`);
}

describe('every upload form stores the exact bytes in exact 512 KiB chunks', () => {
  for (const [formName, send] of Object.entries(forms)) {
    test(formName, async (t) => {
      const stack = await startStack(t);
      for (const size of SIZES) {
        const sent: Sent = { bytes: gzipLike(size), name: `ctx-${size}.tar.gz`, contentType: 'application/gzip', expectedSize: String(size) };
        await expectStored(stack, sent, await send(stack, sent));
      }
      const zip = zipOf('Dockerfile', Buffer.from('FROM scratch\n'.repeat(1000)));
      const sentZip: Sent = { bytes: zip, name: 'ctx.zip', contentType: 'application/zip', expectedSize: String(zip.length) };
      await expectStored(stack, sentZip, await send(stack, sentZip));
    });
  }
});

describe('the curl commands of the upload recipes', () => {
  test('curl -F, curl -T file, tar | curl -T - with a name, --data-binary with and without -H', async (t) => {
    const stack = await startStack(t);
    const dir = await mkdtemp(join(tmpdir(), 'bridge-curl-'));
    const tarGz = join(dir, 'ctx.tar.gz');
    const zipPath = join(dir, 'ctx.zip');
    const archive = gzipLike(3 * CHUNK + 17);
    const zip = zipOf('main.go', Buffer.from('package main\n'));
    await writeFile(tarGz, archive);
    await writeFile(zipPath, zip);
    const base = `${stack.baseUrl}/v1/ignite/contexts`;
    const cases: Array<{ args: string[]; stdin?: Buffer; name: string; bytes: Buffer }> = [
      { args: ['-F', `file=@${tarGz}`, base], name: 'ctx.tar.gz', bytes: archive },
      { args: ['-T', tarGz, `${base}/`], name: 'ctx.tar.gz', bytes: archive },
      { args: ['-T', '-', `${base}/app.tar.gz`], stdin: archive, name: 'app.tar.gz', bytes: archive },
      { args: ['--data-binary', `@${zipPath}`, '-H', 'Content-Type: application/zip', `${base}?name=ctx.zip`], name: 'ctx.zip', bytes: zip },
      // curl then claims application/x-www-form-urlencoded: the bytes decide.
      { args: ['--data-binary', `@${tarGz}`, `${base}?name=ctx.tar.gz`], name: 'ctx.tar.gz', bytes: archive },
    ];
    for (const c of cases) {
      const result = await curl(c.args, c.stdin);
      assert.equal(result.status, 200, `${c.args.join(' ')}: ${result.body} ${result.stderr}`);
      const body = JSON.parse(result.body) as { contextId: string; sizeBytes: string };
      assert.equal(body.sizeBytes, String(c.bytes.length));
      assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(c.bytes));
      assert.equal(stack.observed.find((o) => o.contextId === body.contextId)?.metadata?.name, c.name);
    }
  });
});
