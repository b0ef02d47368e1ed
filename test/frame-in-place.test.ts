import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { allocChunk, framePair, serializeChunk } from '../src/grpc/chunk-serializer.js';
import { chunksFramedInPlace, framingVerified, installChunkFraming, patchCompressionFilter, type CompressionFilterClass } from '../src/grpc/frame-in-place.js';

interface WriteObject { message: Buffer; flags?: number }

/** A chunk message as the bridge sends it: the serialized chunk in a headroom buffer. */
function chunkMessage(bytes: number[]): Buffer {
  const chunk = allocChunk(bytes.length);
  chunk.set(bytes);
  return serializeChunk(chunk);
}

/** grpc-js's identity framing: a fresh buffer, flag 0, length, the message copied. */
function copyFrame(message: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(message.length + 5);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

class Identity {}

/** A stand-in for grpc-js's CompressionFilter, framing the way `frame` says. */
function fakeFilter(frame: (message: Buffer) => Buffer): CompressionFilterClass & { calls: number } {
  return class Fake {
    static calls = 0;
    sendCompression: unknown = new Identity();
    maxSendMessageLength = -1;
    async sendMessage(message: Promise<WriteObject>): Promise<WriteObject> {
      const resolved = await message;
      Fake.calls++;
      return { message: frame(resolved.message), flags: resolved.flags };
    }
  };
}

describe('framing chunks in place fails safe', () => {
  test('grpc-js as installed: an identity filter frames a chunk in its own buffer, a compressing one takes grpc-js\'s path', async () => {
    assert.ok(installChunkFraming(), 'chunk framing refused for the grpc-js version in use');
    const { CompressionFilter } = createRequire(import.meta.url)('@grpc/grpc-js/build/src/compression-filter.js') as { CompressionFilter: CompressionFilterClass };
    await tick(); // the probe's answer has been checked

    const message = chunkMessage([1, 2, 3, 4]);
    const before = chunksFramedInPlace();
    const plain = await new CompressionFilter({}, {}).sendMessage(Promise.resolve({ message, flags: 0 }));
    assert.deepEqual(plain.message, copyFrame(message));
    assert.equal(plain.message.buffer, message.buffer, 'framed where the chunk lies, not copied');
    assert.equal(chunksFramedInPlace() - before, 1);

    const gzip = await new CompressionFilter({ 'grpc.default_compression_algorithm': 2 }, {}).sendMessage(Promise.resolve({ message: chunkMessage([1, 2, 3, 4]), flags: 0 }));
    assert.equal(gzip.message[0], 1, 'compressed');
    assert.equal(chunksFramedInPlace() - before, 1);

    const other = Buffer.from([0x0a, 0x01, 0x61]); // not a chunk: grpc-js frames it as always
    assert.deepEqual((await new CompressionFilter({}, {}).sendMessage(Promise.resolve({ message: other }))).message, copyFrame(other));
    assert.equal(chunksFramedInPlace() - before, 1);

    const limited = new CompressionFilter({ 'grpc.max_send_message_length': 3 }, {});
    await assert.rejects(limited.sendMessage(Promise.resolve({ message: chunkMessage([1, 2, 3, 4]) })), { code: 8 }, 'grpc-js\'s size limit still applies');
  });

  test('a pair of messages framed by the bridge (metadata and a whole small archive) goes out as framed, on an identity filter only', async () => {
    assert.ok(installChunkFraming());
    const { CompressionFilter } = createRequire(import.meta.url)('@grpc/grpc-js/build/src/compression-filter.js') as { CompressionFilter: CompressionFilterClass };
    await tick();
    assert.ok(framingVerified());
    const metadata = Buffer.from([0x0a, 0x01, 0x61]);
    const chunk = chunkMessage([1, 2, 3, 4]);
    const pair = framePair(metadata, chunk);
    assert.deepEqual(pair, Buffer.concat([copyFrame(metadata), copyFrame(chunk)]), 'two gRPC frames, back to back');
    const sent = await new CompressionFilter({}, {}).sendMessage(Promise.resolve({ message: pair, flags: 0 }));
    assert.equal(sent.message, pair, 'passed through, not framed as one message');
    // grpc-js would frame the pair as one (compressed) message: the call fails instead of sending that.
    await assert.rejects(new CompressionFilter({ 'grpc.default_compression_algorithm': 2 }, {}).sendMessage(Promise.resolve({ message: pair, flags: 0 })), /pre-framed/);
  });

  test('a filter of another shape is left alone', () => {
    assert.equal(patchCompressionFilter(undefined), false);
    assert.equal(patchCompressionFilter(class { sendMessageSync() {} }), false);
    const sync = class {
      sendCompression = new Identity();
      sendMessage(message: WriteObject) { return { message: copyFrame(message.message) }; }
    };
    const original: unknown = Reflect.get(sync.prototype, 'sendMessage');
    assert.equal(patchCompressionFilter(sync), false, 'a synchronous sendMessage would get a promise it does not expect');
    assert.equal(Reflect.get(sync.prototype, 'sendMessage'), original);
  });

  test('a filter that frames differently than the probe expects gets its own sendMessage back, and every message goes through it', async () => {
    const filter = fakeFilter((message) => copyFrame(message, 0x80));
    const original: unknown = Reflect.get(filter.prototype, 'sendMessage');
    const warned = new Promise((resolve) => process.once('warning', resolve));
    assert.equal(patchCompressionFilter(filter), true);
    const message = chunkMessage([9, 9]);
    const before = chunksFramedInPlace();
    // Even before the probe's answer has been checked, the fast path is off.
    assert.deepEqual((await new filter({}, {}).sendMessage(Promise.resolve({ message }))).message, copyFrame(message, 0x80));
    await tick();
    assert.equal(Reflect.get(filter.prototype, 'sendMessage'), original);
    assert.match(String((await warned as Error).message), /frames messages differently/);
    assert.equal(chunksFramedInPlace(), before);
  });

  test('a faithful filter: chunks framed in place, everything else through it', async () => {
    const filter = fakeFilter((message) => copyFrame(message));
    assert.equal(patchCompressionFilter(filter), true);
    await tick();
    const calls = filter.calls;
    const message = chunkMessage([5, 6, 7]);
    const framed = await new filter({}, {}).sendMessage(Promise.resolve({ message, flags: 4 }));
    assert.deepEqual(framed, { message: copyFrame(message), flags: 4 });
    assert.equal(filter.calls, calls, 'the chunk skipped the copy');
    const compressing = new filter({}, {});
    (compressing as { sendCompression: unknown }).sendCompression = {};
    await compressing.sendMessage(Promise.resolve({ message: chunkMessage([5]) }));
    assert.equal(filter.calls, calls + 1, 'a filter not sending through the identity handler frames it itself');
  });
});
