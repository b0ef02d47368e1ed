import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uploadMethodDefinition } from '../src/grpc/proto.js';
import { deserializeResponse, serializeMetadata } from '../src/grpc/upload-messages.js';
/** proto-loader's own serializers for the method: what the reference upstream and any protobuf peer use. */
const method = uploadMethodDefinition();
const SIZES = ['0', '1', '127', '128', '16383', '16384', '4294967295', '4294967296', '9007199254740993', '18446744073709551615'];
describe('hand-encoded upload messages against protobufjs', () => {
    test('metadata the bridge encodes decodes with protobufjs to the same fields', () => {
        const names = ['ctx.tar.gz', 'ä/ü 🦀 build context.zip', 'x'.repeat(300)];
        for (const expectedSizeBytes of SIZES) {
            for (const name of names) {
                const metadata = { name, contentType: 'application/gzip', expectedSizeBytes };
                const decoded = method.requestDeserialize(serializeMetadata(metadata));
                assert.deepEqual(decoded.metadata, metadata, `${name} ${expectedSizeBytes}`);
                assert.equal(decoded.chunk, undefined);
            }
        }
    });
    test('a size past uint64 is refused rather than wrapped', () => {
        assert.throws(() => serializeMetadata({ name: 'a', contentType: 'application/zip', expectedSizeBytes: '18446744073709551616' }), RangeError);
    });
    test('responses protobufjs encodes decode to the same fields, 64-bit sizes exactly', () => {
        for (const sizeBytes of SIZES) {
            for (const contextId of ['', 'ctx_1', 'ctx_' + 'ß'.repeat(200)]) {
                const bytes = method.responseSerialize({ contextId, sizeBytes });
                assert.deepEqual(deserializeResponse(bytes), { contextId, sizeBytes });
            }
        }
    });
    test('unknown fields of every wire type are skipped, the last of a repeated field wins', () => {
        const text = (field, value) => [(field << 3) | 2, Buffer.byteLength(value), ...Buffer.from(value)];
        const message = Buffer.concat([
            Buffer.from([
                (9 << 3) | 0, 0x95, 0x9a, 0xef, 0x3a, // varint 123456789
                (10 << 3) | 1, 7, 0, 0, 0, 0, 0, 0, 0, // fixed64
                ...text(11, 'a newer upstream field'),
                (12 << 3) | 5, 3, 0, 0, 0, // fixed32
                (13 << 3) | 3, (1 << 3) | 0, 1, (14 << 3) | 3, (2 << 3) | 2, 1, 0x41, (14 << 3) | 4, (13 << 3) | 4, // nested groups, with fields 1 and 2 inside
                ...text(1, 'ctx_old'),
                (2 << 3) | 0, 5,
            ]),
            method.responseSerialize({ contextId: 'ctx_new', sizeBytes: '42' }),
        ]);
        assert.deepEqual(method.responseDeserialize(message), { contextId: 'ctx_new', sizeBytes: '42' }, 'protobufjs reads it so');
        assert.deepEqual(deserializeResponse(message), { contextId: 'ctx_new', sizeBytes: '42' });
    });
    test('a truncated or malformed response throws instead of answering with garbage', () => {
        const whole = method.responseSerialize({ contextId: 'ctx_123', sizeBytes: '1048576' });
        for (let cut = 1; cut < whole.length; cut++) {
            const part = whole.subarray(0, cut);
            // A cut exactly between two fields is a valid shorter message; anything else must throw.
            if (cut === 9)
                assert.deepEqual(deserializeResponse(part), { contextId: 'ctx_123', sizeBytes: '0' });
            else
                assert.throws(() => deserializeResponse(part), `cut at ${cut}`);
        }
        assert.throws(() => deserializeResponse(Buffer.from([(2 << 3) | 2, 1, 0])), /wire type/);
        assert.throws(() => deserializeResponse(Buffer.from([(7 << 3) | 3])), /not closed/);
        assert.throws(() => deserializeResponse(Buffer.from([(7 << 3) | 3, (8 << 3) | 4])), /closed as 8/);
        assert.throws(() => deserializeResponse(Buffer.from([(7 << 3) | 4])), /wire type 4/);
        assert.throws(() => deserializeResponse(Buffer.from([0x00, 1])), /field number 0/);
        // Field 2^29 (past the largest field number) with wire type 2: protobufjs misreads it as field 1.
        assert.throws(() => deserializeResponse(Buffer.from([0x82, 0x80, 0x80, 0x80, 0x10, 3, 0x61, 0x62, 0x63])), /invalid field number/);
        assert.throws(() => deserializeResponse(Buffer.from(Array.from({ length: 40 }, () => (7 << 3) | 3))), /nested too deep/);
    });
});
//# sourceMappingURL=upload-messages.test.js.map