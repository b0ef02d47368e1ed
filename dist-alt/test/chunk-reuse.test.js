import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { allocChunk, serializeChunk } from '../src/grpc/chunk-serializer.js';
import { chunksFramedInPlace, installChunkFraming } from '../src/grpc/frame-in-place.js';
import { uploadMethodDefinition } from '../src/grpc/proto.js';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';
// Chunk buffers go back to a pool once a write's callback ran on a live stream. The chunks are framed
// in place (grpc-js's frame header written in front of them, frame-in-place.ts), so HTTP/2 sends
// straight from the chunk buffers: reuse is safe only because the callback means the bytes have left.
test('grpc-js is done with a chunk\'s bytes once its write callback ran: overwriting the chunk then changes nothing that arrives', async (t) => {
    const stack = await startStack(t, { reference: { faults: { chunkDelayMs: 2 } } });
    assert.ok(installChunkFraming());
    const framedBefore = chunksFramedInPlace();
    const method = uploadMethodDefinition();
    // The bridge's channel options and serializer (the chunk is framed in its headroom, not copied by us).
    const client = new grpc.Client(stack.reference.target, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0, 'grpc.per_rpc_retry_buffer_size': 0 });
    t.after(() => client.close());
    const serialize = (r) => (r.chunk ? serializeChunk(r.chunk) : method.requestSerialize(r));
    let answer;
    const call = client.makeClientStreamRequest(method.path, serialize, method.responseDeserialize, new grpc.Metadata(), {}, (() => {
        let settle;
        answer = new Promise((resolve, reject) => { settle = (err, value) => (err ? reject(err) : resolve(value)); });
        return settle;
    })());
    call.write({ metadata: { name: 'poisoned.tar.gz', contentType: 'application/gzip', expectedSizeBytes: '0' } });
    const archive = gzipLike(8 * 65536 + 17);
    for (let offset = 0; offset < archive.length; offset += 65536) {
        const piece = archive.subarray(offset, offset + 65536);
        const chunk = allocChunk(piece.length);
        piece.copy(chunk);
        // Not awaited: several writes queue inside grpc-js while the upstream reads slowly.
        call.write({ chunk }, () => chunk.fill(0xee));
    }
    call.end();
    const response = await answer;
    assert.equal(response.sizeBytes, String(archive.length));
    assert.equal(sha256(await storedBytes(stack, response.contextId)), sha256(archive), 'a chunk was sent after its write callback');
    assert.equal(chunksFramedInPlace() - framedBefore, Math.ceil(archive.length / 65536), 'the chunks were framed in place');
});
for (const chunkSizeBytes of [16 * 1024, 100_000, 524288]) {
    test(`concurrent uploads in ${chunkSizeBytes}-byte chunks store exactly the bytes sent, with the buffers reused`, async (t) => {
        const stack = await startStack(t, { config: { chunkSizeBytes }, reference: { faults: { chunkDelayMs: 1 } } });
        const framedBefore = chunksFramedInPlace();
        const archives = Array.from({ length: 6 }, (_, i) => gzipLike(1024 * 1024 + i * 7919));
        const results = await Promise.all(archives.map(async (bytes, i) => {
            const res = await request(`${stack.baseUrl}/v1/ignite/contexts/reuse-${i}.tar.gz`, { method: 'PUT', body: bytes });
            return { status: res.statusCode, body: (await res.body.json()) };
        }));
        for (const [i, { status, body }] of results.entries()) {
            assert.equal(status, 200);
            assert.equal(body.sizeBytes, String(archives[i].length));
            assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(archives[i]), `archive ${i} arrived altered`);
        }
        const byName = new Map(stack.observed.map((o) => [o.metadata?.name, o]));
        for (const [i, archive] of archives.entries()) {
            const seen = byName.get(`reuse-${i}.tar.gz`);
            assert.equal(seen.chunks, Math.ceil(archive.length / chunkSizeBytes));
            assert.deepEqual(seen.sizesBeforeLast, [chunkSizeBytes]);
        }
        // If a grpc-js update makes the bridge refuse its framing (frame-in-place.ts), uploads stay correct but slower: notice it here.
        const chunks = archives.reduce((sum, archive) => sum + Math.ceil(archive.length / chunkSizeBytes), 0);
        assert.equal(chunksFramedInPlace() - framedBefore, chunks, 'every chunk was framed in place (grpc-js\'s copy skipped)');
    });
}
//# sourceMappingURL=chunk-reuse.test.js.map