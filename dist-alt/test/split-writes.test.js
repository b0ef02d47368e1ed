import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Rechunker } from '../src/upload/rechunk.js';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { BOUNDARY, chunked, head, multipartBody, pieces, RawClient } from './raw-http.js';
import { MIN_TAR_GZ_BYTES } from './tar-gz.js';
const CHUNK = 524288;
describe('Rechunker', () => {
    test('any sequence of input pieces gives exact 524288-byte chunks (the last may be shorter) and identical bytes, also when the sink asks to wait', async () => {
        const piece = fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3));
        await fc.assert(fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 0, max: 255 }), async (sizes, seed) => {
            const total = sizes.reduce((a, b) => a + b, 0);
            const bytes = Buffer.alloc(total);
            for (let i = 0; i < total; i++)
                bytes[i] = (i * 31 + seed) & 0xff;
            const rechunker = new Rechunker(CHUNK);
            const chunks = [];
            // Copies, because a chunk's buffer is handed over to gRPC and must not be aliased by later ones.
            const sink = (chunk) => {
                chunks.push(Buffer.from(chunk));
                return (chunks.length + seed) % 3 === 0 ? new Promise((resolve) => setImmediate(resolve)) : undefined;
            };
            let offset = 0;
            for (const size of sizes) {
                const wait = rechunker.push(bytes.subarray(offset, offset + size), sink);
                if (wait)
                    await wait;
                offset += size;
            }
            const last = rechunker.end();
            if (last)
                chunks.push(Buffer.from(last));
            chunks.slice(0, -1).forEach((c) => assert.equal(c.length, CHUNK));
            if (chunks.length)
                assert.ok(chunks.at(-1).length > 0 && chunks.at(-1).length <= CHUNK);
            assert.equal(chunks.length, Math.ceil(total / CHUNK));
            assert.ok(Buffer.concat(chunks).equals(bytes));
        }), { numRuns: 150 });
    });
});
describe('a valid upload sent in random-sized writes is stored byte for byte', () => {
    test('raw Content-Length, chunked and multipart, split anywhere (inside boundaries and chunk framing too)', async (t) => {
        const stack = await startStack(t);
        // Cut points anywhere, and often near the head, the multipart preamble and the closing boundary / last chunk frame.
        const cut = fc.oneof(fc.record({ from: fc.constant('start'), at: fc.integer({ min: 0, max: 700 }) }), fc.record({ from: fc.constant('end'), at: fc.integer({ min: 0, max: 300 }) }), fc.record({ from: fc.constant('any'), at: fc.double({ min: 0, max: 1, noNaN: true }) }));
        const form = fc.constantFrom('length', 'chunked', 'multipart', 'chunked-multipart');
        await fc.assert(fc.asyncProperty(form, fc.integer({ min: MIN_TAR_GZ_BYTES, max: 300_000 }), fc.array(cut, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 8 }), async (kind, size, cuts, chunkSizes) => {
            const archive = gzipLike(size);
            let headers;
            let path = '/v1/ignite/contexts/split.tar.gz';
            let body;
            if (kind === 'length' || kind === 'chunked') {
                body = kind === 'length' ? archive : chunked([...pieces(archive, chunkSizes)]);
                headers = kind === 'length' ? { 'content-length': archive.length } : { 'transfer-encoding': 'chunked' };
            }
            else {
                path = '/v1/ignite/contexts';
                const form = multipartBody([['name', 'split.tar.gz']], { filename: 'x.tar.gz', bytes: archive });
                body = kind === 'multipart' ? form : chunked([...pieces(form, chunkSizes)]);
                headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...(kind === 'multipart' ? { 'content-length': form.length } : { 'transfer-encoding': 'chunked' }) };
            }
            const request = Buffer.concat([Buffer.from(head(kind.includes('multipart') ? 'POST' : 'PUT', path, headers)), body]);
            const client = await RawClient.connect(stack.baseUrl);
            try {
                for (const piece of splitAt(request, cuts)) {
                    await client.write(piece);
                    // Let small writes leave as separate segments rather than coalesce in one read.
                    await new Promise((r) => setImmediate(r));
                }
                const response = await client.response();
                assert.equal(response.status, 200, `${kind}: ${response.body}`);
                assert.equal(response.json.sizeBytes, String(size));
                assert.equal(sha256(await storedBytes(stack, response.json.contextId)), sha256(archive));
            }
            finally {
                client.destroy();
            }
        }), { numRuns: 40 });
        assert.equal(stack.app.uploadGate.inFlight, 0);
    });
});
/** The request cut at the given points, and nowhere more than 64 KiB apart. */
function* splitAt(bytes, cuts) {
    const points = new Set();
    for (const c of cuts) {
        const at = c.from === 'start' ? c.at : c.from === 'end' ? bytes.length - c.at : Math.floor(c.at * bytes.length);
        if (at > 0 && at < bytes.length)
            points.add(at);
    }
    for (let at = 65_536; at < bytes.length; at += 65_536)
        points.add(at);
    let from = 0;
    for (const at of [...points].sort((a, b) => a - b)) {
        yield bytes.subarray(from, at);
        from = at;
    }
    yield bytes.subarray(from);
}
//# sourceMappingURL=split-writes.test.js.map