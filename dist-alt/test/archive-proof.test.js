import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BridgeError } from '../src/errors.js';
import { ArchiveProof, proofLimits } from '../src/imports/archive-proof.js';
import { INFLATE_BACKLOG_BYTES } from '../src/imports/gzip-end.js';
import { realGzip, zipInZip } from './archive-fixtures.js';
import { zipOf } from './helpers.js';
describe('ArchiveProof', () => {
    const generous = { maxInflatedBytes: 1 << 30, inflateRatio: 100, inflateAllowanceBytes: 64 << 20 };
    /** Feeds `bytes` in uneven pieces, as a socket would hand them over, pausing when the proof asks to. */
    async function prove(bytes, limits = generous) {
        const proof = new ArchiveProof('source.test', limits);
        try {
            const sizes = [1, 7, 65536, 3, 4096, 100_000];
            for (let offset = 0, i = 0; offset < bytes.length; i++) {
                const size = sizes[i % sizes.length];
                await proof.ready();
                proof.update(bytes.subarray(offset, offset + size));
                offset += size;
            }
            await proof.finish();
            return undefined;
        }
        catch (err) {
            assert.ok(err instanceof BridgeError, String(err));
            return err;
        }
        finally {
            proof.close();
        }
    }
    /** A zip with one stored entry written with ZIP64 end records (as zip writers do past 4 GiB or 65535 entries). */
    function zip64(content, { comment = Buffer.alloc(0), skew = 0n } = {}) {
        const plain = zipOf('big.bin', content);
        const eocd = plain.subarray(plain.length - 22);
        const cdSize = eocd.readUInt32LE(12);
        const cdOffset = eocd.readUInt32LE(16);
        const body = plain.subarray(0, plain.length - 22);
        const record = Buffer.alloc(56);
        record.writeUInt32LE(0x06064b50, 0);
        record.writeBigUInt64LE(56n - 12n, 4);
        record.writeUInt16LE(45, 12);
        record.writeUInt16LE(45, 14);
        record.writeBigUInt64LE(1n, 24);
        record.writeBigUInt64LE(1n, 32);
        record.writeBigUInt64LE(BigInt(cdSize), 40);
        record.writeBigUInt64LE(BigInt(cdOffset) + skew, 48);
        const locator = Buffer.alloc(20);
        locator.writeUInt32LE(0x07064b50, 0);
        locator.writeBigUInt64LE(BigInt(body.length), 8);
        locator.writeUInt32LE(1, 16);
        const end = Buffer.alloc(22);
        end.writeUInt32LE(0x06054b50, 0);
        end.writeUInt16LE(0xffff, 8);
        end.writeUInt16LE(0xffff, 10);
        end.writeUInt32LE(0xffffffff, 12);
        end.writeUInt32LE(0xffffffff, 16);
        end.writeUInt16LE(comment.length, 20);
        return Buffer.concat([body, record, locator, end, comment]);
    }
    test('zip: ZIP64 end records are followed to the central directory', async () => {
        const content = randomBytes(200 * 1024);
        assert.equal(await prove(zip64(content)), undefined);
        assert.equal(await prove(zip64(content, { comment: Buffer.from('built by ci') })), undefined);
        assert.equal(await prove(zip64(content, { comment: Buffer.alloc(65535, 0x41) })), undefined);
        const skewed = await prove(zip64(content, { skew: 1n }));
        assert.equal(skewed?.code, 'IMPORT_INCOMPLETE');
        assert.match(skewed.message, /ZIP64 end record.*central directory/);
        const cut = await prove(zip64(content).subarray(0, -1));
        assert.equal(cut?.code, 'IMPORT_INCOMPLETE');
        const commentCut = await prove(zip64(content, { comment: Buffer.from('built by ci') }).subarray(0, -3));
        assert.equal(commentCut?.code, 'IMPORT_INCOMPLETE');
    });
    test('zip: the end record must sit exactly at the end and describe a directory that ends where it starts', async () => {
        const zip = zipOf('a.txt', randomBytes(100 * 1024));
        assert.equal(await prove(zip), undefined);
        const empty = Buffer.alloc(22);
        empty.writeUInt32LE(0x06054b50, 0);
        assert.equal(await prove(empty), undefined, 'the empty zip: an end record alone');
        const trailing = await prove(Buffer.concat([zip, Buffer.from('x')]));
        assert.match(String(trailing?.message), /no end-of-central-directory record/);
        const { cutAfterInner } = zipInZip();
        assert.match(String((await prove(cutAfterInner))?.message), /central directory.*offset/);
    });
    test('gzip: trailing zero padding is whole, anything else after the last trailer is not; a cut at a member boundary cannot be told', async () => {
        const { gz, raw } = realGzip();
        assert.equal(await prove(gz), undefined);
        assert.equal(await prove(Buffer.concat([gz, Buffer.alloc(1000)])), undefined, 'zero padding after the trailer');
        const garbage = await prove(Buffer.concat([gz, Buffer.from([0, 0, 1, 2])]));
        assert.match(String(garbage?.message), /after the last gzip member/);
        const damaged = Buffer.from(gz);
        damaged[damaged.length - 6] ^= 1;
        assert.match(String((await prove(damaged))?.message), /damaged/);
        const first = gzipSync(raw.subarray(0, 400_000));
        const second = gzipSync(raw.subarray(400_000));
        assert.equal(await prove(Buffer.concat([first, second])), undefined);
        assert.match(String((await prove(Buffer.concat([first, second.subarray(0, 5)])))?.message), /ends before/);
        // The documented limit: the first member alone is a whole gzip.
        assert.equal(await prove(first), undefined);
    });
    test('gzip: inflated bytes are capped by a ratio to the compressed bytes and by an absolute bound', async () => {
        const zeros = gzipSync(Buffer.alloc(16 * 1024 * 1024));
        const ratio = await prove(zeros, { maxInflatedBytes: 1 << 30, inflateRatio: 100, inflateAllowanceBytes: 1 << 20 });
        assert.equal(ratio?.code, 'IMPORT_INFLATE_LIMIT');
        assert.match(ratio.message, /more than 100 times the \d+ compressed bytes/);
        const absolute = await prove(zeros, { maxInflatedBytes: 4 << 20, inflateRatio: 100_000, inflateAllowanceBytes: 1 << 30 });
        assert.equal(absolute?.code, 'IMPORT_INFLATE_LIMIT');
        assert.match(absolute.message, /more than 4194304 bytes/);
        assert.equal(await prove(zeros, { maxInflatedBytes: 1 << 30, inflateRatio: 100_000, inflateAllowanceBytes: 0 }), undefined);
    });
    test('gzip: the feeder is held back while the inflater is behind, so the backlog stays bounded', async () => {
        const { gz } = realGzip();
        assert.ok(gz.length > 2 * INFLATE_BACKLOG_BYTES);
        const proof = new ArchiveProof('source.test', generous);
        const piece = 64 * 1024;
        let offset = 0;
        while (!proof.ready() && offset < gz.length) {
            proof.update(gz.subarray(offset, offset + piece));
            offset += piece;
        }
        assert.ok(offset < gz.length, 'ready() asked the feeder to wait');
        assert.ok(offset <= INFLATE_BACKLOG_BYTES + piece, `${offset} bytes queued before the feeder was held back`);
        for (; offset < gz.length; offset += piece) {
            await proof.ready();
            proof.update(gz.subarray(offset, offset + piece));
        }
        await proof.finish();
        proof.close();
    });
    test('the limits derive from MAX_CONTEXT_BYTES', () => {
        assert.deepEqual(proofLimits(5 * 1024 ** 3), { maxInflatedBytes: 40 * 1024 ** 3, inflateRatio: 100, inflateAllowanceBytes: 64 * 1024 ** 2 });
    });
});
//# sourceMappingURL=archive-proof.test.js.map