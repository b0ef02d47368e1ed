/**
 * The upload method's small messages, encoded by hand like its chunks
 * (chunk-serializer.ts): the bridge then never loads protobufjs and
 * proto-loader (start-up about 110 ms faster, idle RSS about 2 MiB lower)
 * and spends no reflection per call. The reference upstream and the tests still use
 * proto-loader, and a test holds both encodings to each other.
 *
 *   UploadBuildContextRequest { oneof payload { UploadBuildContextMetadata metadata = 1; bytes chunk = 2; } }
 *   UploadBuildContextMetadata { string content_type = 1; string name = 2; uint64 expected_size_bytes = 3; }
 *   UploadBuildContextResponse { string context_id = 1; uint64 size_bytes = 2; }
 */
export const UPLOAD_METHOD_PATH = '/dodil.ignite.v1.BuildService/UploadBuildContext';
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const I32 = 5;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_FIELD = 536870911n;
/** Nested groups skipped at most (protobufjs's recursion has no bound; a hostile message should not get one either). */
const MAX_GROUP_DEPTH = 32;
/** The request carrying the metadata; proto3 defaults (empty strings, size 0) are left out. */
export function serializeMetadata(metadata) {
    const fields = [];
    if (metadata.contentType)
        fields.push(lengthDelimited(1, Buffer.from(metadata.contentType)));
    if (metadata.name)
        fields.push(lengthDelimited(2, Buffer.from(metadata.name)));
    const size = BigInt(metadata.expectedSizeBytes || 0);
    if (size < 0n || size > MAX_UINT64)
        throw new RangeError(`expected_size_bytes out of range: ${metadata.expectedSizeBytes}`);
    if (size > 0n)
        fields.push(Buffer.concat([varint(BigInt((3 << 3) | VARINT)), varint(size)]));
    return lengthDelimited(1, Buffer.concat(fields));
}
/** Reads a response as protobuf does: fields in any order, the last of a repeated one wins, unknown ones skipped. Throws on a malformed message. */
export function deserializeResponse(message) {
    const response = { contextId: '', sizeBytes: '0' };
    const reader = { buffer: message, at: 0 };
    while (reader.at < message.length) {
        const { field, wireType } = readKey(reader);
        if (field === 1 && wireType === LEN)
            response.contextId = readBytes(reader).toString('utf8');
        else if (field === 2 && wireType === VARINT)
            response.sizeBytes = (readVarint(reader) & MAX_UINT64).toString();
        else if (field === 1 || field === 2)
            throw new Error(`field ${field} has wire type ${wireType}`);
        else
            skip(reader, field, wireType);
    }
    return response;
}
function readKey(reader) {
    const key = readVarint(reader);
    const field = key >> 3n;
    if (field === 0n || field > MAX_FIELD)
        throw new Error(`invalid field number ${field}`);
    return { field: Number(field), wireType: Number(key & 7n) };
}
function lengthDelimited(field, bytes) {
    return Buffer.concat([varint(BigInt((field << 3) | LEN)), varint(BigInt(bytes.length)), bytes]);
}
function varint(value) {
    const bytes = [];
    while (value >= 0x80n) {
        bytes.push(Number(value & 0x7fn) | 0x80);
        value >>= 7n;
    }
    bytes.push(Number(value));
    return Buffer.from(bytes);
}
function readVarint(reader) {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
        if (reader.at >= reader.buffer.length)
            throw new Error('truncated varint');
        const byte = reader.buffer[reader.at++];
        value |= BigInt(byte & 0x7f) << shift;
        if (byte < 0x80)
            return value;
    }
    throw new Error('varint longer than 10 bytes');
}
function readBytes(reader) {
    const length = Number(readVarint(reader));
    if (length > reader.buffer.length - reader.at)
        throw new Error('truncated field');
    const bytes = reader.buffer.subarray(reader.at, reader.at + length);
    reader.at += length;
    return bytes;
}
/** Skips an unknown field, a group (a newer upstream's delimited message) with everything in it. */
function skip(reader, field, wireType, depth = 0) {
    if (wireType === VARINT)
        readVarint(reader);
    else if (wireType === LEN)
        readBytes(reader);
    else if (wireType === I64 || wireType === I32) {
        const length = wireType === I64 ? 8 : 4;
        if (length > reader.buffer.length - reader.at)
            throw new Error('truncated field');
        reader.at += length;
    }
    else if (wireType === START_GROUP) {
        if (depth >= MAX_GROUP_DEPTH)
            throw new Error('groups nested too deep');
        for (;;) {
            if (reader.at >= reader.buffer.length)
                throw new Error(`group ${field} not closed`);
            const inner = readKey(reader);
            if (inner.wireType === END_GROUP) {
                if (inner.field !== field)
                    throw new Error(`group ${field} closed as ${inner.field}`);
                return;
            }
            skip(reader, inner.field, inner.wireType, depth + 1);
        }
    }
    else {
        throw new Error(`unexpected wire type ${wireType} for field ${field}`);
    }
}
//# sourceMappingURL=upload-messages.js.map