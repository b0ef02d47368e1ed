import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import { assertNothingStored, assertRefusal, gzipLike, markUpstream, sha256, startStack, storedBytes, warmUp } from './helpers.js';
import { BOUNDARY, chunked, eventually, head, multipartBody, pieces, RawClient } from './raw-http.js';
const MiB = 1024 * 1024;
const PUT = '/v1/ignite/contexts/ctx.tar.gz';
/** Sends only the request head (no body byte) and returns the reply. */
async function headOnly(stack, method, path, headers) {
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(head(method, path, { expect: '100-continue', ...headers }));
    const response = await client.response();
    await client.closed;
    return response;
}
const warmedUp = new WeakMap();
/**
 * The real stack after one small upload: the gRPC channel is connected, so a
 * call the bridge opens reaches the upstream (a call cancelled while the
 * channel is still connecting never does, and the test could not observe it).
 */
async function startWarm(t, options = {}) {
    const stack = await startStack(t, options);
    await warmUp(stack);
    warmedUp.set(stack, await markUpstream(stack));
    return stack;
}
/** No upload since the warm-up stored anything, and no temp file is left: proven, not waited for. */
async function nothingStored(stack) {
    await assertNothingStored(stack, warmedUp.get(stack));
}
describe('refusals that need no body are answered before it, instead of 100 Continue, with Connection: close', () => {
    test('size by Content-Length, names, encoding, boundary, route, digest header', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: MiB } });
        const cases = [
            { what: 'raw Content-Length over the limit', method: 'PUT', path: PUT, headers: { 'content-length': MiB + 1 }, status: 413, message: /MAX_CONTEXT_BYTES/ },
            { what: 'multipart Content-Length over limit + framing margin', method: 'POST', path: '/v1/ignite/contexts', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': MiB + 64 * 1024 + 1 }, status: 413, message: /MAX_CONTEXT_BYTES/ },
            { what: 'name over 255 bytes', method: 'PUT', path: `/v1/ignite/contexts/${'a'.repeat(256)}`, headers: { 'content-length': 100 }, status: 400, message: /256 bytes long/ },
            // 300 × "é" is 600 bytes, 1800 characters percent-encoded: over the router's default maxParamLength (414).
            { what: 'long percent-encoded UTF-8 name', method: 'PUT', path: `/v1/ignite/contexts/${encodeURIComponent('é'.repeat(300))}`, headers: { 'content-length': 100 }, status: 400, message: /600 bytes long/ },
            { what: 'name with a control character', method: 'PUT', path: '/v1/ignite/contexts/ctx%01.tar.gz', headers: { 'content-length': 100 }, status: 400, message: /control characters/ },
            { what: 'empty ?name=', method: 'POST', path: '/v1/ignite/contexts?name=', headers: { 'content-length': 100 }, status: 400, message: /empty/ },
            { what: 'no name at all on PUT', method: 'PUT', path: '/v1/ignite/contexts/', headers: { 'content-length': 100 }, status: 400, message: /contexts\/ctx\.tar\.gz/ },
            { what: 'Content-Encoding gzip', method: 'PUT', path: PUT, headers: { 'content-length': 100, 'content-encoding': 'gzip' }, status: 415, message: /Content-Encoding "gzip"/ },
            { what: 'multipart without a boundary', method: 'POST', path: '/v1/ignite/contexts', headers: { 'content-type': 'multipart/form-data', 'content-length': 100 }, status: 400, message: /boundary/ },
            { what: 'unknown route', method: 'POST', path: '/v1/ignite/elsewhere', headers: { 'content-length': 100 }, status: 404, message: /No route/ },
            { what: 'digest header with no supported algorithm', method: 'PUT', path: PUT, headers: { 'content-length': 100, 'content-digest': 'md5=:AAAAAAAAAAAAAAAAAAAAAA==:' }, status: 400, message: /sha-256 and sha-512/ },
            { what: 'malformed sha-256 digest', method: 'PUT', path: PUT, headers: { 'content-length': 100, 'repr-digest': 'sha-256=:c2hvcnQ=:' }, status: 400, message: /32 bytes/ },
        ];
        for (const c of cases) {
            const response = await headOnly(stack, c.method, c.path, c.headers);
            assert.equal(response.status, c.status, `${c.what}: ${response.body}`);
            assert.deepEqual(response.interim, [], `${c.what}: no 100 Continue before a refusal`);
            assert.equal(response.headers['connection'], 'close', c.what);
            assert.match(response.json.message, c.message, c.what);
        }
        assert.equal(stack.observed.length, 0, 'no call reached the upstream');
        assert.equal(stack.app.uploadGate.inFlight, 0);
    });
    test('an upload that passes the early checks gets 100 Continue first, then its answer', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(300_000);
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('PUT', PUT, { expect: '100-continue', 'content-length': archive.length, 'content-type': 'application/x-www-form-urlencoded' }));
        assert.equal(await client.firstReply(), 100);
        await client.write(archive);
        const response = await client.response();
        assert.equal(response.status, 200, response.body);
        assert.deepEqual(response.interim, [100]);
        assert.equal(sha256(await storedBytes(stack, response.json.contextId)), sha256(archive));
        client.destroy();
    });
});
describe('MAX_CONTEXT_BYTES counts archive bytes as they arrive', () => {
    const max = MiB;
    const over = gzipLike(3 * MiB);
    test('a chunked raw body growing past the limit: 413, call cancelled, nothing stored', async (t) => {
        const stack = await startWarm(t, { config: { maxContextBytes: max } });
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('POST', '/v1/ignite/contexts?name=big.tar.gz', { 'transfer-encoding': 'chunked' }));
        const cancelled = stack.nextObservation();
        await client.sendUntilAnswered(pieces(chunked([...pieces(over, [64 * 1024])]), [64 * 1024]));
        const response = await client.response();
        assertRefusal(response, 413, grpcStatus.INVALID_ARGUMENT, /larger than the limit of 1048576 bytes/);
        assert.equal(response.headers['connection'], 'close');
        assert.equal((await cancelled).outcome, 'cancelled');
        assert.ok((await cancelled).bytes <= max, 'the upstream never got more than the limit');
        await nothingStored(stack);
        client.destroy();
    });
    test('a multipart archive past the limit, within the framing margin or chunked: 413, nothing stored', async (t) => {
        const stack = await startWarm(t, { config: { maxContextBytes: max } });
        // Archive one byte over the limit: its Content-Length is inside the 64 KiB margin, so only counting catches it.
        for (const [what, archive, transfer] of [['Content-Length', gzipLike(max + 1), 'length'], ['chunked', over, 'chunked']]) {
            const body = multipartBody([['name', 'big.tar.gz']], { filename: 'big.tar.gz', bytes: archive });
            const client = await RawClient.connect(stack.baseUrl);
            const framing = transfer === 'length' ? { 'content-length': body.length } : { 'transfer-encoding': 'chunked' };
            await client.write(head('POST', '/v1/ignite/contexts', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...framing }));
            const ended = stack.nextObservation();
            const wire = transfer === 'length' ? body : chunked([...pieces(body, [64 * 1024])]);
            await client.sendUntilAnswered(pieces(wire, [64 * 1024]));
            assertRefusal(await client.response(), 413, grpcStatus.INVALID_ARGUMENT, /MAX_CONTEXT_BYTES/);
            assert.equal((await ended).outcome, 'cancelled', what);
            await nothingStored(stack);
            client.destroy();
        }
    });
    test('exactly MAX_CONTEXT_BYTES is accepted', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: max } });
        const archive = gzipLike(max);
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('POST', '/v1/ignite/contexts?name=edge.tar.gz', { 'transfer-encoding': 'chunked' }));
        await client.write(chunked([archive]));
        const response = await client.response();
        assert.equal(response.status, 200, response.body);
        assert.equal(response.json.sizeBytes, String(max));
        client.destroy();
    });
});
describe('MAX_CONCURRENT_UPLOADS', () => {
    test('the next upload gets 503 with Retry-After; the count returns to zero after aborts and timeouts', async (t) => {
        const stack = await startWarm(t, { config: { maxConcurrentUploads: 2, uploadIdleTimeoutMs: 1500 } });
        const gate = stack.app.uploadGate;
        const holders = [];
        for (let i = 0; i < 2; i++) {
            const client = await RawClient.connect(stack.baseUrl);
            await client.write(head('PUT', `/v1/ignite/contexts/slow-${i}.tar.gz`, { 'transfer-encoding': 'chunked' }));
            await client.write(chunked([gzipLike(1000)]).subarray(0, 500)); // part of the first chunk, then nothing
            holders.push(client);
        }
        await eventually(() => gate.inFlight === 2, 'two uploads are in flight');
        const refused = await headOnly(stack, 'PUT', PUT, { 'content-length': 1000 });
        assertRefusal(refused, 503, grpcStatus.UNAVAILABLE, /MAX_CONCURRENT_UPLOADS/);
        assert.equal(refused.headers['retry-after'], '5');
        assert.deepEqual(refused.interim, [], 'no 100 Continue for a refused upload');
        assert.equal(refused.headers['connection'], 'close');
        holders[0].destroy(); // client abort
        await eventually(() => gate.inFlight === 1, 'the aborted upload released its slot');
        const timedOut = await holders[1].response();
        assertRefusal(timedOut, 408, grpcStatus.DEADLINE_EXCEEDED, /UPLOAD_IDLE_TIMEOUT_MS/);
        await eventually(() => gate.inFlight === 0, 'the timed-out upload released its slot');
        await nothingStored(stack);
        const archive = gzipLike(10_000);
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(Buffer.concat([Buffer.from(head('PUT', PUT, { 'content-length': archive.length })), archive]));
        assert.equal((await client.response()).status, 200);
        client.destroy();
        assert.equal(gate.inFlight, 0);
    });
});
describe('timeouts', () => {
    test('a client that stops sending (slowloris) gets 408 and the call is cancelled', async (t) => {
        const stack = await startWarm(t, { config: { uploadIdleTimeoutMs: 300 } });
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('PUT', PUT, { 'content-length': 1_000_000 }));
        const cancelled = stack.nextObservation();
        await client.write(gzipLike(200_000)); // enough to open the call, then silence
        const response = await client.response();
        assertRefusal(response, 408, grpcStatus.DEADLINE_EXCEEDED, /No body bytes arrived for 300 ms/);
        assert.equal(response.headers['connection'], 'close');
        assert.equal((await cancelled).outcome, 'cancelled', JSON.stringify(await cancelled));
        await nothingStored(stack);
        assert.equal(stack.app.uploadGate.inFlight, 0);
    });
    test('an upstream that stops reading: 504, not the client idle timeout, and the call is cancelled', async (t) => {
        const stack = await startWarm(t, {
            config: { uploadIdleTimeoutMs: 300, upstreamResponseTimeoutMs: 1500 },
            reference: { faults: { stopReadingAfterBytes: MiB } },
        });
        const archive = gzipLike(64 * MiB);
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('PUT', PUT, { 'content-length': archive.length }));
        const cancelled = stack.nextObservation();
        await client.sendUntilAnswered(pieces(archive, [256 * 1024]));
        const response = await client.response();
        assertRefusal(response, 504, grpcStatus.DEADLINE_EXCEEDED, /stopped reading/);
        assert.ok(client.written < archive.length, 'answered before the client finished sending');
        assert.equal((await cancelled).outcome, 'cancelled');
        await nothingStored(stack);
        client.destroy();
    });
});
describe('integrity', () => {
    const archive = gzipLike(2 * MiB + 5);
    const b64 = (algorithm, bytes) => createHash(algorithm).update(bytes).digest('base64');
    const sha256Header = `sha-256=:${b64('sha256', archive)}:`;
    const wrong = gzipLike(10);
    async function put(stack, headers, body = archive, framing = 'length') {
        const client = await RawClient.connect(stack.baseUrl);
        const framed = framing === 'length' ? body : chunked([...pieces(body, [100_000])]);
        const lengthHeader = framing === 'length' ? { 'content-length': body.length } : { 'transfer-encoding': 'chunked' };
        await client.write(head('PUT', PUT, { ...lengthHeader, ...headers }));
        await client.sendUntilAnswered(pieces(framed, [128 * 1024]));
        const response = await client.response();
        client.destroy();
        return response;
    }
    test('matching Content-Digest / Repr-Digest (sha-256, sha-512, unknown ones ignored) are accepted; success carries Repr-Digest of what was verified', async (t) => {
        const stack = await startStack(t);
        const sha512Header = `sha-512=:${b64('sha512', archive)}:`;
        const accepted = [
            [{ 'content-digest': sha256Header }, 'length', sha256Header],
            [{ 'repr-digest': sha512Header }, 'chunked', sha512Header],
            [{ 'content-digest': `md5=:AAAAAAAAAAAAAAAAAAAAAA==:, ${sha512Header}`, 'repr-digest': sha256Header }, 'length', `${sha256Header}, ${sha512Header}`],
        ];
        for (const [headers, framing, answered] of accepted) {
            const response = await put(stack, headers, archive, framing);
            assert.equal(response.status, 200, `${JSON.stringify(headers)}: ${response.body}`);
            assert.equal(response.headers['repr-digest'], answered);
            assert.equal(sha256(await storedBytes(stack, response.json.contextId)), sha256(archive));
        }
    });
    test('Want-Repr-Digest / Want-Content-Digest: the preferred supported algorithm is answered; no preference, no digest', async (t) => {
        const stack = await startStack(t);
        const sha512Header = `sha-512=:${b64('sha512', archive)}:`;
        const cases = [
            [{}, undefined],
            [{ 'want-repr-digest': 'sha-256=1' }, sha256Header],
            [{ 'want-repr-digest': 'sha-512=3, sha-256=10' }, sha256Header],
            [{ 'want-content-digest': 'sha-256=2, sha-512=9' }, sha512Header],
            [{ 'want-repr-digest': 'sha-512' }, sha512Header],
            [{ 'want-repr-digest': 'sha-256=5', 'want-content-digest': 'sha-512=5' }, sha256Header],
            // Nothing supported and acceptable, or unreadable: a hint the bridge cannot meet asks for no work.
            [{ 'want-repr-digest': 'md5=10, sha-256=0' }, undefined],
            [{ 'want-repr-digest': 'sha-256=:not-a-weight:' }, undefined],
        ];
        for (const [headers, answered] of cases) {
            const response = await put(stack, headers, archive, 'chunked');
            assert.equal(response.status, 200, `${JSON.stringify(headers)}: ${response.body}`);
            assert.equal(response.headers['repr-digest'], answered, JSON.stringify(headers));
        }
    });
    test('a digest mismatch: 400 naming both digests, call cancelled, nothing stored', async (t) => {
        const stack = await startWarm(t);
        const cases = [
            [{ 'content-digest': `sha-256=:${b64('sha256', wrong)}:` }, `sha-256=:${b64('sha256', wrong)}:`],
            [{ 'repr-digest': `sha-512=:${b64('sha512', wrong)}:` }, `sha-512=:${b64('sha512', wrong)}:`],
            [{ 'content-digest': sha256Header, 'repr-digest': `sha-512=:${b64('sha512', wrong)}:` }, `sha-512=:${b64('sha512', wrong)}:`],
        ];
        for (const [headers, declared] of cases) {
            const ended = stack.nextObservation();
            const response = await put(stack, headers);
            assertRefusal(response, 400, grpcStatus.INVALID_ARGUMENT);
            assert.ok(response.json.message.includes(declared), response.body);
            const actual = declared.startsWith('sha-512') ? `sha-512=:${b64('sha512', archive)}:` : sha256Header;
            assert.ok(response.json.message.includes(actual), response.body);
            assert.equal((await ended).outcome, 'cancelled', JSON.stringify(await ended));
            await nothingStored(stack);
        }
    });
    test('the multipart sha256 field is verified the same way', async (t) => {
        const stack = await startWarm(t);
        const send = async (digest) => {
            const body = multipartBody([['name', 'ctx.tar.gz'], ['sha256', digest]], { filename: 'x.tar.gz', bytes: archive });
            const client = await RawClient.connect(stack.baseUrl);
            await client.write(head('POST', '/v1/ignite/contexts', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length }));
            await client.sendUntilAnswered(pieces(body, [128 * 1024]));
            const response = await client.response();
            client.destroy();
            return response;
        };
        const ok = await send(sha256(archive).toUpperCase());
        assert.equal(ok.status, 200, ok.body);
        assert.equal(ok.headers['repr-digest'], sha256Header);
        const mark = await markUpstream(stack);
        const bad = await send(sha256(wrong));
        assertRefusal(bad, 400, grpcStatus.INVALID_ARGUMENT);
        assert.ok(bad.json.message.includes(sha256(wrong)) && bad.json.message.includes(sha256(archive)), bad.body);
        const calls = await assertNothingStored(stack, mark);
        assert.deepEqual(calls.map((c) => c.outcome), ['cancelled']);
        const malformed = await send('not-hex');
        assertRefusal(malformed, 400, grpcStatus.INVALID_ARGUMENT, /64 hex digits/);
    });
    test('expectedSizeBytes that disagrees with the bytes received: 400, call cancelled, nothing stored', async (t) => {
        const stack = await startWarm(t);
        const body = multipartBody([['expectedSizeBytes', String(archive.length + 1)]], { filename: 'ctx.tar.gz', bytes: archive });
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('POST', '/v1/ignite/contexts', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length }));
        const ended = stack.nextObservation();
        await client.sendUntilAnswered(pieces(body, [128 * 1024]));
        assertRefusal(await client.response(), 400, grpcStatus.INVALID_ARGUMENT, /were announced/);
        assert.equal((await ended).outcome, 'cancelled');
        await nothingStored(stack);
        client.destroy();
    });
});
describe('multipart names and limits', () => {
    async function postForm(stack, body) {
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('POST', '/v1/ignite/contexts', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': body.length }));
        await client.sendUntilAnswered(pieces(body, [64 * 1024]));
        const response = await client.response();
        client.destroy();
        return response;
    }
    test('invalid names are refused before the first upstream write', async (t) => {
        const stack = await startWarm(t);
        const mark = await markUpstream(stack);
        const archive = gzipLike(100_000);
        for (const [name, message] of [['', /empty/], ['x'.repeat(256), /256 bytes/], ['bad\u0007name', /control/]]) {
            const response = await postForm(stack, multipartBody([['name', name]], { filename: 'ctx.tar.gz', bytes: archive }));
            assertRefusal(response, 400, grpcStatus.INVALID_ARGUMENT, message);
        }
        const noName = await postForm(stack, multipartBody([], { filename: '', bytes: archive }));
        assertRefusal(noName, 400, grpcStatus.INVALID_ARGUMENT);
        // A sentinel upload after them proves it: every call the refusals might have opened would be seen first.
        assert.deepEqual(await assertNothingStored(stack, mark), [], 'the upstream saw no call after the warm-up');
    });
    test('too many fields, a huge field, huge part headers: a clear 400/413, not a hang', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(10_000);
        const manyFields = await postForm(stack, multipartBody(Array.from({ length: 50 }, (_, i) => [`f${i}`, 'x']), { filename: 'a.tar.gz', bytes: archive }));
        assertRefusal(manyFields, 400, grpcStatus.INVALID_ARGUMENT, /too many parts/);
        const hugeField = await postForm(stack, multipartBody([['name', 'n'.repeat(2 * MiB)]], { filename: 'a.tar.gz', bytes: archive }));
        assertRefusal(hugeField, 400, grpcStatus.INVALID_ARGUMENT, /longer than 4096 bytes/);
        // busboy keeps at most 80 KiB of a part's headers (and 16 pairs) and drops the rest: bounded, no hang.
        const hugeHeaders = Buffer.concat([
            Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.tar.gz"\r\n`),
            Buffer.from(`X-Padding: ${'p'.repeat(200 * 1024)}\r\n`),
            Buffer.from(Array.from({ length: 5000 }, (_, i) => `X-H${i}: v\r\n`).join('')),
            Buffer.from('\r\n'),
            archive,
            Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
        ]);
        const padded = await postForm(stack, hugeHeaders);
        assert.equal(padded.status, 200, padded.body);
        assert.equal(sha256(await storedBytes(stack, padded.json.contextId)), sha256(archive));
        const hugeFilename = await postForm(stack, multipartBody([], { filename: 'f'.repeat(100 * 1024), bytes: archive }));
        assertRefusal(hugeFilename, 400, grpcStatus.INVALID_ARGUMENT);
        assert.equal(stack.app.uploadGate.inFlight, 0);
        assert.equal(stack.observed.filter((o) => o.outcome === 'stored').length, 1);
    });
});
describe('the reference upstream never stores a reset call', () => {
    // Node's http2 ends a reset stream's readable side, so grpc-js reports 'end' just before 'cancelled':
    // a reference that committed on 'end' stored truncated archives of unknown size.
    test('a call cancelled after some chunks, with no expected size, leaves nothing behind', async (t) => {
        const stack = await startWarm(t);
        const { UpstreamClient } = await import('../src/grpc/upstream-client.js');
        const upstream = new UpstreamClient({ target: stack.reference.target, responseTimeoutMs: 5000 });
        t.after(() => upstream.close());
        for (let i = 0; i < 5; i++) {
            const ended = stack.nextObservation();
            const call = upstream.open({ name: `reset-${i}.tar.gz`, contentType: 'application/gzip', expectedSizeBytes: '0' }, {});
            await call.write(gzipLike(524288));
            await call.write(gzipLike(1000));
            await new Promise((r) => setTimeout(r, 20 * i));
            call.cancel();
            const seen = await ended;
            assert.equal(seen.outcome, 'cancelled', JSON.stringify(seen));
        }
        await nothingStored(stack);
    });
});
//# sourceMappingURL=limits.test.js.map