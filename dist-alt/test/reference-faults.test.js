import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MAX_SIZES_KEPT } from '../src/reference-upstream/upload-call.js';
import { gzipLike, sha256 } from './helpers.js';
import { contextEntries, nextUpload, onTempFileWrite, spawnReference, startReference, tempDataDir, uploadClient } from './reference-helpers.js';
describe('answerDelayMs: a slow commit after the half-close', () => {
    test('a clean call is stored and answered after the delay', async (t) => {
        const reference = await startReference(t, { faults: { answerDelayMs: 400 } });
        const halfClosed = once(reference.events, 'half-close').then(() => performance.now());
        const seen = nextUpload(reference);
        const { answer } = uploadClient(t, reference.target).upload('slow.tar.gz', [gzipLike(2000)]);
        const { contextId } = await answer;
        const waited = performance.now() - (await halfClosed);
        assert.ok(waited >= 395, `answered ${waited.toFixed(0)} ms after the half-close`);
        assert.equal((await seen).outcome, 'stored');
        assert.deepEqual(await contextEntries(reference.store.dir), [contextId, `${contextId}.json`]);
    });
    test('a cancel during the delay is recorded as cancelled, and nothing is stored', async (t) => {
        const reference = await startReference(t, { faults: { answerDelayMs: 60_000 } });
        const halfClosed = once(reference.events, 'half-close');
        const seen = nextUpload(reference);
        const { call, answer } = uploadClient(t, reference.target).upload('left.tar.gz', [gzipLike(2000)]);
        await halfClosed;
        call.cancel();
        await assert.rejects(answer, { code: grpc.status.CANCELLED });
        const observed = await seen;
        assert.equal(observed.outcome, 'cancelled');
        assert.equal(observed.bytes, 2000, 'the whole upload had arrived');
        assert.deepEqual(await contextEntries(reference.store.dir), []);
    });
    test('works in the spawned process form, set through REFERENCE_FAULTS', async (t) => {
        const dataDir = await tempDataDir(t);
        const upstream = await spawnReference(t, dataDir, { answerDelayMs: 400 });
        const client = uploadClient(t, upstream.target);
        await client.upload('warm.tar.gz', [gzipLike(10)]).answer;
        const archive = gzipLike(3000);
        const started = performance.now();
        const { contextId, sizeBytes } = await client.upload('slow.tar.gz', [archive]).answer;
        assert.ok(performance.now() - started >= 395);
        assert.equal(sizeBytes, '3000');
        assert.equal(sha256(await readFile(join(dataDir, 'contexts', contextId))), sha256(archive));
        client.close();
        upstream.child.kill('SIGTERM');
        assert.equal(await upstream.exited, 0);
    });
});
test('chunkDelayMs waits for the temp file to drain too: never written past its highWaterMark', async (t) => {
    const reference = await startReference(t, { faults: { chunkDelayMs: 1 } });
    // A disk much slower than the injected delay: resuming after the delay alone would pile chunks up in memory.
    const backlogs = [];
    let highWaterMark = 0;
    onTempFileWrite(reference, (stream) => {
        backlogs.push(stream.writableLength);
        highWaterMark = stream.writableHighWaterMark;
        slowDown(stream, 15);
    });
    const archive = gzipLike(6 * 1024 * 1024);
    const chunks = Array.from({ length: 12 }, (_, i) => archive.subarray(i * 524288, (i + 1) * 524288));
    const seen = nextUpload(reference);
    const { contextId } = await uploadClient(t, reference.target).upload('slow-disk.tar.gz', chunks).answer;
    const observed = await seen;
    assert.equal(observed.bytes, archive.length);
    assert.equal(observed.chunks, 12);
    assert.equal(sha256(await readFile(reference.store.path(contextId))), sha256(archive));
    assert.equal(backlogs.length, 12);
    assert.ok(backlogs.every((backlog) => backlog < highWaterMark), `written with ${backlogs.join(', ')} bytes still buffered (highWaterMark ${highWaterMark})`);
});
test('the observation keeps constant-size chunk statistics', async (t) => {
    const reference = await startReference(t);
    const client = uploadClient(t, reference.target);
    const sizes = [100, 200, 100, 300, 200, 50];
    let seen = nextUpload(reference);
    await client.upload('sizes.tar.gz', sizes.map((size) => gzipLike(size))).answer;
    const observed = await seen;
    assert.deepEqual({ chunks: observed.chunks, maxChunk: observed.maxChunk, lastChunk: observed.lastChunk, sizesBeforeLast: observed.sizesBeforeLast, bytes: observed.bytes }, { chunks: 6, maxChunk: 300, lastChunk: 50, sizesBeforeLast: [100, 200, 300], bytes: 950 });
    seen = nextUpload(reference);
    await client.upload('many.tar.gz', Array.from({ length: 40 }, (_, i) => gzipLike(10 + i))).answer;
    const many = await seen;
    assert.equal(many.chunks, 40);
    assert.deepEqual(many.sizesBeforeLast, Array.from({ length: MAX_SIZES_KEPT }, (_, i) => 10 + i));
    assert.equal(many.lastChunk, 49);
    assert.equal(many.maxChunk, 49);
});
/** Delays every completed write of this stream, as a slow disk would. */
function slowDown(stream, ms) {
    const marked = stream;
    if (marked.slowed)
        return;
    marked.slowed = true;
    const write = stream._write.bind(stream);
    stream._write = (chunk, encoding, callback) => write(chunk, encoding, (err) => setTimeout(() => callback(err), ms));
    if (stream._writev) {
        const writev = stream._writev.bind(stream);
        stream._writev = (chunks, callback) => writev(chunks, (err) => setTimeout(() => callback(err), ms));
    }
}
//# sourceMappingURL=reference-faults.test.js.map