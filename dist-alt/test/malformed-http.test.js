import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { assertNothingStored, assertRefusal, gzipLike, markUpstream, startStack, storedBytes, warmUp } from './helpers.js';
import { BOUNDARY, head, RawClient } from './raw-http.js';
import { b64, createUpload, headUpload, patchUpload, TUS } from './tus-client.js';
const PATH = '/v1/ignite/contexts/ctx.tar.gz';
async function exchange(stack, bytes) {
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(bytes);
    const response = await client.response();
    await client.closed;
    return response;
}
function assertContractError(response, status, code, message, reason) {
    assert.match(response.headers['content-type'] ?? '', /^application\/json/);
    assertRefusal(response, status, code, message, reason);
}
/** One chunk of `bytes`, then a chunk-size line that is not hex: what Node's parser refuses. */
function badlyChunked(bytes) {
    return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\nzz\r\n')]);
}
/** Headers and malformed chunked body in one write (one TCP segment): the parser fails before any route ran. */
async function malformedInOneSegment(stack, method, path, headers, body) {
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(Buffer.concat([Buffer.from(head(method, path, { ...headers, 'transfer-encoding': 'chunked' })), badlyChunked(body)]));
    // Well within UPLOAD_IDLE_TIMEOUT_MS (30 s): the refusal is at once, not a 408 later.
    const response = await client.response(3000);
    await client.closed;
    return response;
}
async function metric(stack, pattern) {
    const text = await (await request(`${stack.baseUrl}/metrics`)).body.text();
    const line = text.split('\n').find((l) => pattern.test(l));
    return line ? Number(line.split(' ').at(-1)) : 0;
}
describe('malformed HTTP gets the contract\'s answer', () => {
    test('bad chunk framing in the middle of an upload: 400, the call is cancelled, counted as malformed and never as a client abort', async (t) => {
        const stack = await startStack(t);
        await warmUp(stack);
        const archive = gzipLike(700_000);
        const client = await RawClient.connect(stack.baseUrl);
        const observed = stack.nextObservation();
        await client.write(head('PUT', PATH, { 'transfer-encoding': 'chunked' }));
        await client.write(Buffer.concat([Buffer.from(`${archive.length.toString(16)}\r\n`), archive, Buffer.from('\r\n')]));
        await client.write('not-hex\r\nsomething\r\n');
        const response = await client.response();
        assertContractError(response, 400, 3, /not valid HTTP\/1\.1.*chunk/i);
        assert.equal(response.headers['connection'], 'close');
        const call = await observed;
        assert.equal(call.outcome, 'cancelled', 'the call was opened, and cancelled: the body never completed');
        client.destroy();
        assert.equal(await metric(stack, /^ignite_bridge_uploads_total\{.*outcome="malformed"/), 1);
        assert.equal(await metric(stack, /^ignite_bridge_uploads_total\{.*outcome="client_aborted"/), 0);
        assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="400"\}/), 1);
    });
    test('Content-Length with Transfer-Encoding: 400 in the contract\'s shape, before any call', async (t) => {
        const stack = await startStack(t);
        const response = await exchange(stack, head('PUT', PATH, { 'content-length': 10, 'transfer-encoding': 'chunked' }) + '0\r\n\r\n');
        assertContractError(response, 400, 3, /not valid HTTP\/1\.1/);
        assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="400"\}/), 1);
        assert.equal(stack.observed.length, 0, 'no call was opened');
    });
    test('20 KB of headers: 431 with code 3', async (t) => {
        const stack = await startStack(t);
        const response = await exchange(stack, head('PUT', PATH, { 'content-length': 10, 'x-padding': 'p'.repeat(20_000) }));
        assertContractError(response, 431, 3, /headers are too large/);
        assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="431"\}/), 1);
    });
    test('headers sent too slowly: 408 with code 4', async (t) => {
        const stack = await startStack(t, { http: { headersTimeout: 300, connectionsCheckingInterval: 50 } });
        const response = await exchange(stack, `PUT ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
        assertContractError(response, 408, 4, /headers did not arrive in time/);
        assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="408"\}/), 1);
    });
    test('bad framing in the same segment as the headers, on every upload route: 400 MALFORMED_HTTP at once, no call opened', async (t) => {
        const stack = await startStack(t, { config: { importAllowPrivateAddresses: true, importAllowHttp: true } });
        await warmUp(stack);
        const mark = await markUpstream(stack);
        const archive = gzipLike(1000);
        const form = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="ctx.tar.gz"\r\ncontent-type: application/gzip\r\n\r\n`), archive]);
        const cases = [
            ['PUT', PATH, {}, archive],
            ['POST', '/v1/ignite/contexts?name=ctx.tar.gz', { 'content-type': 'application/gzip' }, archive],
            ['POST', '/v1/ignite/contexts', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, form],
            ['POST', '/v1/ignite/contexts:import', { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ url: `${stack.baseUrl}/x.tar.gz`, name: 'x.tar.gz' }))],
        ];
        for (const [method, path, headers, body] of cases) {
            const response = await malformedInOneSegment(stack, method, path, headers, body);
            assertContractError(response, 400, 3, /not valid HTTP\/1\.1.*chunk/i, 'MALFORMED_HTTP');
            assert.equal(response.headers['connection'], 'close', `${method} ${path}`);
        }
        assert.deepEqual(await assertNothingStored(stack, mark), [], 'no call was opened for any of them');
        assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="400"\}/), cases.length);
    });
    test('tus: a malformed PATCH, creation or DELETE in one segment is 400 at once and never acts', async (t) => {
        const stack = await startStack(t);
        await warmUp(stack);
        const archive = gzipLike(300_000);
        const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length) });
        const path = new URL(url).pathname;
        assert.equal((await patchUpload(url, 0, archive.subarray(0, 100_000))).status, 204);
        const mark = await markUpstream(stack);
        const patch = await malformedInOneSegment(stack, 'PATCH', path, { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': '100000' }, archive.subarray(100_000, 101_000));
        assertContractError(patch, 400, 3, /not valid HTTP\/1\.1/, 'MALFORMED_HTTP');
        assert.deepEqual(await headUpload(url), { status: 200, offset: 100_000 }, 'the refused PATCH took no byte');
        const del = await malformedInOneSegment(stack, 'DELETE', path, TUS, Buffer.from('x'));
        assertContractError(del, 400, 3, /not valid HTTP\/1\.1/, 'MALFORMED_HTTP');
        assert.deepEqual(await headUpload(url), { status: 200, offset: 100_000 }, 'the refused DELETE terminated nothing');
        const creation = await malformedInOneSegment(stack, 'POST', '/v1/ignite/uploads', {
            ...TUS, 'upload-length': '1000', 'upload-metadata': `filename ${b64('other.tar.gz')}`, 'content-type': 'application/offset+octet-stream',
        }, gzipLike(500));
        assertContractError(creation, 400, 3, /not valid HTTP\/1\.1/, 'MALFORMED_HTTP');
        assert.equal(creation.headers['location'], undefined, 'no upload was created');
        assert.equal(stack.app.resumableUploads.size, 1, 'only the first upload exists');
        // The upload goes on where it was, and stores exactly the archive.
        const rest = await patchUpload(url, 100_000, archive.subarray(100_000));
        assert.equal(rest.status, 200, rest.body);
        const { contextId } = JSON.parse(rest.body);
        assert.deepEqual(await storedBytes(stack, contextId), archive);
        // A sentinel upload opens its call after any the refused requests could have opened.
        await warmUp(stack);
        assert.deepEqual(stack.opened.slice(mark.opened).map((o) => o.metadata?.name), ['ctx.tar.gz', 'warm-up.tar.gz'], 'no call but the upload\'s own was opened');
    });
    test('tus: bad framing in the middle of a PATCH is 400, and the upload ends with its call reset (the bytes before cannot be trusted)', async (t) => {
        const stack = await startStack(t);
        await warmUp(stack);
        const archive = gzipLike(700_000);
        const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length) });
        const client = await RawClient.connect(stack.baseUrl);
        const observed = stack.nextObservation();
        await client.write(head('PATCH', new URL(url).pathname, { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': 0, 'transfer-encoding': 'chunked' }));
        await client.write(Buffer.concat([Buffer.from(`${(600_000).toString(16)}\r\n`), archive.subarray(0, 600_000), Buffer.from('\r\n')]));
        await client.write('not-hex\r\n');
        const response = await client.response(3000);
        assertContractError(response, 400, 3, /not valid HTTP\/1\.1.*chunk/i, 'MALFORMED_HTTP');
        client.destroy();
        assert.equal((await observed).outcome, 'cancelled', 'the call the PATCH opened was reset');
        assert.equal((await headUpload(url)).status, 410);
    });
});
//# sourceMappingURL=malformed-http.test.js.map