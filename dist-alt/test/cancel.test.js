import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { uploadMethodDefinition } from '../src/grpc/proto.js';
import { findHttp2Stream, resetCall, resetFallbackCount } from '../src/grpc/reset-call.js';
import { startFakeUpstream } from './fake-upstream.js';
import { dataDirEntries, gzipLike, startStack } from './helpers.js';
/** Sends headers and part of a chunked body over a raw socket, then drops the connection. */
async function abortHalfway(baseUrl, path, sendBytes, contentLength) {
    const { port } = new URL(baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const framing = contentLength === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${contentLength}`;
    socket.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`);
    const body = gzipLike(sendBytes);
    for (let i = 0; i < body.length; i += 65536) {
        const piece = body.subarray(i, i + 65536);
        const ok = contentLength === undefined
            ? socket.write(`${piece.length.toString(16)}\r\n`) && socket.write(piece) && socket.write('\r\n')
            : socket.write(piece);
        if (!ok)
            await new Promise((resolve) => socket.once('drain', resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
}
describe('a client that disconnects mid-upload cancels the upstream call', () => {
    test('an upstream that is not grpc-js sees a reset, never an end-of-stream', async (t) => {
        const naive = await startFakeUpstream(t);
        const stack = await startStack(t, { target: naive.target });
        for (const contentLength of [undefined, 8 * 1024 * 1024]) {
            const outcome = naive.nextOutcome();
            await abortHalfway(stack.baseUrl, '/v1/ignite/contexts/cut.tar.gz', 3 * 1024 * 1024, contentLength);
            const call = await outcome;
            assert.ok(call.bytes > 1024 * 1024, `the upstream received data before the abort (${call.bytes} bytes)`);
            assert.equal(call.outcome, 'reset', 'the upstream must see RST_STREAM without END_STREAM');
        }
    });
    test('the reference upstream stores nothing, chunked or with Content-Length', async (t) => {
        const stack = await startStack(t);
        for (const contentLength of [undefined, 8 * 1024 * 1024]) {
            const seen = stack.nextObservation();
            await abortHalfway(stack.baseUrl, '/v1/ignite/contexts/cut.tar.gz', 3 * 1024 * 1024, contentLength);
            const observation = await seen;
            assert.equal(observation.outcome, 'cancelled');
            assert.ok(observation.bytes > 0);
        }
        assert.deepEqual(await dataDirEntries(stack), []);
        assert.equal(stack.app.uploadGate.inFlight, 0);
    });
});
describe('an upstream that answers before the archive is complete', () => {
    test('is a 502 at once (its answer cannot describe the upload), not a 504 after the response timeout', async (t) => {
        // UploadBuildContextResponse{context_id: "ctx_early", size_bytes: 5}, framed, answered at once with OK.
        const early = await startFakeUpstream(t, (stream) => {
            const message = Buffer.concat([Buffer.from([0x0a, 9]), Buffer.from('ctx_early'), Buffer.from([0x10, 5])]);
            const frame = Buffer.alloc(5 + message.length);
            frame.writeUInt32BE(message.length, 1);
            message.copy(frame, 5);
            stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
            stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
            stream.end(frame);
        });
        const stack = await startStack(t, { target: early.target, config: { upstreamResponseTimeoutMs: 30_000 } });
        const { request } = await import('undici');
        const started = Date.now();
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts/x.tar.gz`, { method: 'PUT', body: gzipLike(8 * 1024 * 1024) });
        const json = (await res.body.json());
        assert.equal(res.statusCode, 502);
        assert.equal(json.code, 15);
        assert.match(json.message, /before the whole archive was sent/);
        assert.ok(Date.now() - started < 20_000, 'answered without waiting for UPSTREAM_RESPONSE_TIMEOUT_MS');
    });
});
describe('an upstream whose answer cannot be read', () => {
    test('fails the upload at once and resets the call, so a naive upstream never sees the end of the archive', async (t) => {
        // A message whose only field claims 80 bytes of context_id and brings 3; then the upstream keeps reading, no status.
        const garbled = await startFakeUpstream(t, (stream) => {
            stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
            const message = Buffer.from([0x0a, 80, 0x63, 0x74, 0x78]);
            const frame = Buffer.alloc(5 + message.length);
            frame.writeUInt32BE(message.length, 1);
            message.copy(frame, 5);
            stream.write(frame);
        });
        const stack = await startStack(t, { target: garbled.target, config: { upstreamResponseTimeoutMs: 30_000 } });
        const { request } = await import('undici');
        const outcome = garbled.nextOutcome();
        const started = Date.now();
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts/x.tar.gz`, { method: 'PUT', body: gzipLike(8 * 1024 * 1024) });
        const json = (await res.body.json());
        assert.equal(res.statusCode, 500);
        assert.equal(json.code, 13);
        assert.match(json.message, /Response message parsing error: truncated/);
        assert.ok(Date.now() - started < 20_000, 'answered without waiting for UPSTREAM_RESPONSE_TIMEOUT_MS');
        assert.equal((await outcome).outcome, 'reset', 'the upstream must see RST_STREAM without END_STREAM');
    });
});
describe('the reset itself', () => {
    test('finds the HTTP/2 stream of a call that has sent data (breaks if a grpc-js release renames the layers it walks)', async (t) => {
        const stack = await startStack(t);
        const method = uploadMethodDefinition();
        // The bridge's own channel options: a write callback means the message was handed to HTTP/2.
        const client = new grpc.Client(stack.reference.target, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0, 'grpc.per_rpc_retry_buffer_size': 0 });
        t.after(() => client.close());
        const observed = stack.nextObservation();
        const call = client.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), {}, () => { });
        const write = (message) => new Promise((resolve) => call.write(message, () => resolve()));
        await write({ metadata: { name: 'walk.tar.gz', contentType: 'application/gzip', expectedSizeBytes: '0' } });
        await write({ chunk: gzipLike(1000) });
        assert.ok(findHttp2Stream(call), 'the walk reached the HTTP/2 stream');
        const fallbacks = resetFallbackCount();
        resetCall(call, true);
        assert.equal((await observed).outcome, 'cancelled');
        assert.equal(resetFallbackCount(), fallbacks, 'no fallback to grpc-js\'s cancel');
    });
});
//# sourceMappingURL=cancel.test.js.map