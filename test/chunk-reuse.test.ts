import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';

// Chunk buffers are reused once grpc-js acknowledges a write. grpc-js acknowledges a write
// that fits its per-call retry buffer (256 KiB) before sending it, so reuse at small chunk
// sizes would overwrite chunks still queued: the stored bytes would differ from those sent.
// A slow upstream keeps the HTTP/2 window full, so chunks do queue inside grpc-js.
for (const chunkSizeBytes of [16 * 1024, 100_000, 524288]) {
  test(`concurrent uploads in ${chunkSizeBytes}-byte chunks store exactly the bytes sent (chunk buffers reused safely)`, async (t) => {
    const stack = await startStack(t, { config: { chunkSizeBytes }, reference: { faults: { chunkDelayMs: 1 } } });
    const archives = Array.from({ length: 6 }, (_, i) => gzipLike(1024 * 1024 + i * 7919));
    const results = await Promise.all(archives.map(async (bytes, i) => {
      const res = await request(`${stack.baseUrl}/v1/ignite/contexts/reuse-${i}.tar.gz`, { method: 'PUT', body: bytes });
      return { status: res.statusCode, body: (await res.body.json()) as { contextId: string; sizeBytes: string } };
    }));
    for (const [i, { status, body }] of results.entries()) {
      assert.equal(status, 200);
      assert.equal(body.sizeBytes, String(archives[i]!.length));
      assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(archives[i]!), `archive ${i} arrived altered`);
    }
    const chunkCounts = stack.observed.map((o) => o.chunks);
    assert.ok(chunkCounts.every((n) => n > 1024 * 1024 / chunkSizeBytes - 1), `chunk counts ${chunkCounts}`);
  });
}
