import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tus from 'tus-js-client';
import { gzipLike, sha256, startStack, storedBytes, type Stack } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const CHUNK = 524288;

/** Runs one tus-js-client upload to the end: the Ignite-Context-Id it was given, or its error. */
function tusUpload(endpoint: string, bytes: Buffer, options: Partial<tus.UploadOptions> = {}): Promise<{ contextId: string | null; upload: tus.Upload }> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(bytes, {
      endpoint,
      metadata: { filename: 'ctx.tar.gz' },
      retryDelays: [0, 100, 300, 500, 1000],
      chunkSize: Infinity,
      ...options,
      onSuccess: ({ lastResponse }) => resolve({ contextId: lastResponse.getHeader('Ignite-Context-Id') ?? null, upload }),
      onError: reject,
    });
    upload.start();
  });
}

async function proxied(t: { after: (fn: () => Promise<void>) => void }, stack: Stack): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(Number(new URL(stack.baseUrl).port));
  t.after(() => proxy.close());
  return proxy;
}

describe('resumable uploads (tus 1.0) with tus-js-client', () => {
  test('a connection cut at 30 % and 70 % resumes: one upstream call, exact chunks, the same bytes stored', async (t) => {
    const stack = await startStack(t);
    const proxy = await proxied(t, stack);
    const archive = gzipLike(50 * 1024 * 1024 + 123);
    proxy.cutWhenSent(Math.floor(archive.length * 0.3), Math.floor(archive.length * 0.7));
    const { contextId } = await tusUpload(`${proxy.url}/v1/ignite/uploads`, archive);
    assert.ok(contextId?.startsWith('ctx_'), `contextId ${contextId}`);
    assert.equal(sha256(await storedBytes(stack, contextId!)), sha256(archive));
    assert.equal(stack.opened.length, 1, 'one upstream call');
    const [call] = stack.observed;
    assert.equal(call!.outcome, 'stored');
    assert.deepEqual(call!.sizesBeforeLast, [CHUNK]);
    assert.equal(call!.bytes, archive.length);
    assert.ok(proxy.sent < 1.5 * archive.length, `sent ${proxy.sent} bytes for ${archive.length}: it resumed`);
    assert.ok(proxy.connections >= 3);
  });
});
