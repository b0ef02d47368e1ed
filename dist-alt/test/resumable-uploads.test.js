import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import * as tus from 'tus-js-client';
import { request } from 'undici';
import { assertNothingStored, assertRefusal, gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { shutDown } from '../src/shutdown.js';
import { spawnBridge } from './bridge-process.js';
import { eventually, head, RawClient } from './raw-http.js';
import { TcpProxy } from './tcp-proxy.js';
const CHUNK = 524288;
/** Runs one tus-js-client upload to the end: the Ignite-Context-Id it was given, or its error. */
function tusUpload(endpoint, bytes, options = {}) {
    return new Promise((resolve, reject) => {
        const upload = new tus.Upload(bytes, {
            endpoint,
            metadata: { filename: 'ctx.tar.gz' },
            retryDelays: [0, 100, 300, 500, 1000],
            chunkSize: Infinity,
            ...options,
            onSuccess: ({ lastResponse }) => resolve({ contextId: lastResponse.getHeader('Ignite-Context-Id') ?? null, upload }),
            onError: reject,
        });
        upload.start();
    });
}
async function proxied(t, stack) {
    const proxy = await TcpProxy.start(Number(new URL(stack.baseUrl).port));
    t.after(() => proxy.close());
    return proxy;
}
describe('resumable uploads (tus 1.0) with tus-js-client', () => {
    test('a connection cut at 30 % and 70 % resumes: one upstream call, exact chunks, the same bytes stored', async (t) => {
        const stack = await startStack(t);
        const proxy = await proxied(t, stack);
        const archive = gzipLike(50 * 1024 * 1024 + 123);
        proxy.cutWhenSent(Math.floor(archive.length * 0.3), Math.floor(archive.length * 0.7));
        const { contextId } = await tusUpload(`${proxy.url}/v1/ignite/uploads`, archive);
        assert.ok(contextId?.startsWith('ctx_'), `contextId ${contextId}`);
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive));
        assert.equal(stack.opened.length, 1, 'one upstream call');
        const [call] = stack.observed;
        assert.equal(call.outcome, 'stored');
        assert.deepEqual(call.sizesBeforeLast, [CHUNK]);
        assert.equal(call.bytes, archive.length);
        assert.ok(proxy.sent < 1.5 * archive.length, `sent ${proxy.sent} bytes for ${archive.length}: it resumed`);
        assert.ok(proxy.connections >= 3);
        const metrics = await (await request(`${stack.baseUrl}/metrics`)).body.text();
        assert.match(metrics, /^ignite_bridge_uploads_total\{route="\/v1\/ignite\/uploads(\/:id)?",mode="resumable",outcome="ok"\} 1$/m);
        assert.match(metrics, /^ignite_bridge_resumable_resumes_total 2$/m);
        assert.match(metrics, /^ignite_bridge_resumable_uploads 0$/m);
    });
});
const TUS = { 'tus-resumable': '1.0.0' };
const OCTETS = { ...TUS, 'content-type': 'application/offset+octet-stream' };
const b64 = (text) => Buffer.from(text).toString('base64');
async function tusRequest(url, method, headers, body) {
    const res = await request(url, { method: method, headers, body });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}
/** Creates an upload; answers its URL. */
async function create(stack, headers) {
    const baseUrl = typeof stack === 'string' ? stack : stack.baseUrl;
    const res = await tusRequest(`${baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-metadata': `filename ${b64('ctx.tar.gz')}`, ...headers });
    assert.equal(res.status, 201, res.body);
    assert.match(String(res.headers['location']), /^\/v1\/ignite\/uploads\/[A-Za-z0-9_-]{24}$/);
    assert.ok(Date.parse(String(res.headers['upload-expires'])) > Date.now());
    return `${baseUrl}${String(res.headers['location'])}`;
}
const patch = (url, offset, bytes, headers = {}) => tusRequest(url, 'PATCH', { ...OCTETS, 'upload-offset': String(offset), ...headers }, bytes);
describe('resumable uploads: the protocol', () => {
    test('OPTIONS tells version, extensions and max size; other requests need Tus-Resumable 1.0.0 (412 otherwise)', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: 9_000_000 } });
        const options = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'OPTIONS', {});
        assert.equal(options.status, 204);
        assert.equal(options.headers['tus-version'], '1.0.0');
        assert.equal(options.headers['tus-extension'], 'creation,creation-with-upload,creation-defer-length,termination,expiration');
        assert.equal(options.headers['tus-max-size'], '9000000');
        for (const version of [undefined, '0.2.2']) {
            const res = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { 'upload-length': '10', ...(version ? { 'tus-resumable': version } : {}) });
            assertRefusal({ status: res.status, body: res.body }, 412, 9, /tus 1\.0\.0/);
            assert.equal(res.headers['tus-version'], '1.0.0');
            assert.equal(res.headers['tus-resumable'], '1.0.0');
        }
    });
    test('PATCH by PATCH: offsets, a wrong offset (409) and content type (415) change nothing, the last PATCH answers 200 with the id', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(3 * CHUNK + 777);
        const url = await create(stack, { 'upload-length': String(archive.length) });
        const first = await patch(url, 0, archive.subarray(0, 1000));
        assert.equal(first.status, 204, first.body);
        assert.equal(first.headers['upload-offset'], '1000');
        assert.equal(first.headers['tus-resumable'], '1.0.0');
        const wrongOffset = await patch(url, 999, archive.subarray(999, 2000));
        assertRefusal({ status: wrongOffset.status, body: wrongOffset.body }, 409, 9, /holds 1000 bytes/);
        assert.equal(wrongOffset.headers['upload-offset'], '1000');
        const wrongType = await tusRequest(url, 'PATCH', { ...TUS, 'content-type': 'application/octet-stream', 'upload-offset': '1000' }, archive.subarray(1000, 2000));
        assertRefusal({ status: wrongType.status, body: wrongType.body }, 415, 3, /offset\+octet-stream/);
        const head = await tusRequest(url, 'HEAD', TUS);
        assert.equal(head.status, 200);
        assert.equal(head.headers['upload-offset'], '1000');
        assert.equal(head.headers['upload-length'], String(archive.length));
        assert.equal(head.headers['upload-metadata'], `filename ${b64('ctx.tar.gz')}`);
        assert.equal(head.headers['cache-control'], 'no-store');
        const second = await patch(url, 1000, archive.subarray(1000, 2 * CHUNK + 5));
        assert.equal(second.status, 204, second.body);
        const last = await patch(url, 2 * CHUNK + 5, archive.subarray(2 * CHUNK + 5));
        assert.equal(last.status, 200, last.body);
        const answer = JSON.parse(last.body);
        assert.equal(answer.sizeBytes, String(archive.length));
        assert.equal(last.headers['ignite-context-id'], answer.contextId);
        assert.equal(last.headers['ignite-size-bytes'], answer.sizeBytes);
        assert.equal(last.headers['upload-offset'], String(archive.length));
        assert.equal(sha256(await storedBytes(stack, answer.contextId)), sha256(archive));
        assert.equal(stack.opened.length, 1);
        assert.deepEqual(stack.observed[0].sizesBeforeLast, [CHUNK]);
        const after = await tusRequest(url, 'HEAD', TUS);
        assert.equal(after.status, 200);
        assert.equal(after.headers['ignite-context-id'], answer.contextId);
        assert.equal(after.headers['upload-offset'], String(archive.length));
        const deleted = await tusRequest(url, 'DELETE', TUS);
        assertRefusal({ status: deleted.status, body: deleted.body }, 409, 9, /can no longer be terminated/);
    });
    test('Upload-Defer-Length: the length arrives with a later PATCH', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(CHUNK + 99);
        const url = await create(stack, { 'upload-defer-length': '1' });
        assert.equal((await tusRequest(url, 'HEAD', TUS)).headers['upload-defer-length'], '1');
        assert.equal((await patch(url, 0, archive.subarray(0, 5000))).status, 204);
        const last = await patch(url, 5000, archive.subarray(5000), { 'upload-length': String(archive.length) });
        assert.equal(last.status, 200, last.body);
        assert.equal(sha256(await storedBytes(stack, last.headers['ignite-context-id'])), sha256(archive));
    });
    test('creation-with-upload: the creating POST may carry the first bytes', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(70_000);
        const res = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', {
            ...OCTETS, 'upload-length': String(archive.length), 'upload-metadata': `name ${b64('with-upload.tar.gz')}`,
        }, archive.subarray(0, 30_000));
        assert.equal(res.status, 201, res.body);
        assert.equal(res.headers['upload-offset'], '30000');
        const last = await patch(`${stack.baseUrl}${String(res.headers['location'])}`, 30_000, archive.subarray(30_000));
        assert.equal(last.status, 200, last.body);
        assert.equal(stack.observed[0].metadata?.name, 'with-upload.tar.gz');
    });
    test('refused at creation: length 0 (400), over MAX_CONTEXT_BYTES (413), no name (400), signed (400)', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: 1_000_000 } });
        const post = (headers) => tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-metadata': `filename ${b64('a.tar.gz')}`, ...headers });
        const zero = await post({ 'upload-length': '0' });
        assertRefusal({ status: zero.status, body: zero.body }, 400, 3, /Upload-Length is 0/);
        const big = await post({ 'upload-length': '1000001' });
        assertRefusal({ status: big.status, body: big.body }, 413, 3, /MAX_CONTEXT_BYTES/);
        const unnamed = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-length': '10' });
        assertRefusal({ status: unnamed.status, body: unnamed.body }, 400, 3, /filename/);
        const bloated = await post({ 'upload-length': '10', 'upload-metadata': `filename ${b64('a.tar.gz')},note ${b64('x'.repeat(7000))}` });
        assertRefusal({ status: bloated.status, body: bloated.body }, 400, 3, /Upload-Metadata is \d+ bytes, more than the 8192 kept/);
        assert.equal(stack.opened.length, 0, 'creation opens no call');
    });
    test('caps: a quarter of MAX_RESUMABLE_UPLOADS per credential and per client address (IPv6 per /64, as TRUST_PROXY resolves it), then the replica (503 naming which)', async (t) => {
        const stack = await startStack(t, { config: { maxResumableUploads: 8, trustProxy: true } });
        const post = (from, authorization) => tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', {
            ...TUS, 'upload-length': '10', 'upload-metadata': `filename ${b64('a.tar.gz')}`, 'x-forwarded-for': from, ...(authorization ? { authorization } : {}),
        });
        const full = (res, which) => {
            assertRefusal({ status: res.status, body: res.body }, 503, 14, which);
            assert.equal(res.headers['retry-after'], '5');
        };
        assert.equal((await post('10.0.0.1', 'Bearer a')).status, 201);
        assert.equal((await post('10.0.0.2', 'Bearer a')).status, 201);
        full(await post('10.0.0.3', 'Bearer a'), /This credential already holds 2 resumable uploads \(a quarter of MAX_RESUMABLE_UPLOADS\)/);
        // Invented tokens from one address: the address cap holds.
        assert.equal((await post('10.0.0.4', 'Bearer invented-1')).status, 201);
        assert.equal((await post('10.0.0.4', 'Bearer invented-2')).status, 201);
        full(await post('10.0.0.4', 'Bearer invented-3'), /This client address already holds 2 resumable uploads/);
        assert.equal((await post('2001:db8::1')).status, 201);
        assert.equal((await post('2001:db8:0:0:ffff::2')).status, 201);
        full(await post('2001:db8::3'), /This client address already holds 2/);
        assert.equal((await post('2001:db8:0:1::1')).status, 201, 'another /64');
        assert.equal((await post('10.0.0.8')).status, 201);
        full(await post('10.0.0.9'), /This bridge already holds 8 resumable uploads \(MAX_RESUMABLE_UPLOADS\)/);
        assert.equal(stack.opened.length, 0, 'creation opens no call');
    });
    test('a flood of creations with invented Authorization values from one address fills only that address\'s quarter', async (t) => {
        const stack = await startStack(t, { config: { trustProxy: true } });
        const post = (from, authorization) => tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', {
            ...TUS, 'upload-length': '10', 'upload-metadata': `filename ${b64('a.tar.gz')}`, 'x-forwarded-for': from, authorization,
        });
        const statuses = [];
        for (let i = 0; i < 100; i++) {
            const res = await post('203.0.113.7', `Bearer invented-${i}`);
            statuses.push(res.status);
            if (res.status !== 201)
                assert.match(res.body, /This client address already holds 64 resumable uploads/);
        }
        assert.deepEqual(statuses, [...Array(64).fill(201), ...Array(36).fill(503)]);
        assert.equal(stack.app.resumableUploads.size, 64);
        assert.equal((await post('198.51.100.1', 'Bearer someone-else')).status, 201, 'everyone else still creates uploads');
    });
    test('another credential is told the upload does not exist (404)', async (t) => {
        const stack = await startStack(t);
        const url = await create(stack, { 'upload-length': '5000', authorization: 'Bearer owner' });
        for (const headers of [{ authorization: 'Bearer someone-else' }, {}]) {
            for (const method of ['HEAD', 'PATCH', 'DELETE']) {
                const res = await tusRequest(url, method, { ...OCTETS, 'upload-offset': '0', ...headers }, method === 'PATCH' ? gzipLike(100) : undefined);
                assert.equal(res.status, 404, `${method} ${JSON.stringify(headers)}`);
                if (method !== 'HEAD')
                    assertRefusal({ status: res.status, body: res.body }, 404, 5, /No such resumable upload/);
            }
        }
        assert.equal((await tusRequest(url, 'HEAD', { ...TUS, authorization: 'Bearer owner' })).status, 200);
    });
    test('a first PATCH that is not an archive ends the upload (415, no call opened, then 410)', async (t) => {
        const stack = await startStack(t);
        const url = await create(stack, { 'upload-length': '5000' });
        const res = await patch(url, 0, Buffer.from('hello, this is not an archive'));
        assertRefusal({ status: res.status, body: res.body }, 415, 3, /not a gzip or zip/);
        const head = await tusRequest(url, 'HEAD', TUS);
        assert.equal(head.status, 410);
        assert.equal(stack.opened.length, 0);
    });
    test('bytes past Upload-Length end the upload (413) and the upstream sees a reset', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(2 * CHUNK);
        for (const framing of ['content-length', 'chunked']) {
            const url = await create(stack, { 'upload-length': '700000' });
            assert.equal((await patch(url, 0, archive.subarray(0, 600_000))).status, 204);
            const ended = stack.nextObservation();
            const body = archive.subarray(600_000);
            const res = framing === 'chunked'
                ? await tusRequest(url, 'PATCH', { ...OCTETS, 'upload-offset': '600000' }, Readable.from([body]))
                : await patch(url, 600_000, body);
            assertRefusal({ status: res.status, body: res.body }, 413, 3, /past the declared Upload-Length/);
            assert.equal((await ended).outcome, 'cancelled', framing);
            assert.equal((await tusRequest(url, 'HEAD', TUS)).status, 410);
        }
        await assertNothingStored(stack);
    });
    test('DELETE mid-way resets the call (nothing stored); the upload is then unknown (404)', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(3 * CHUNK);
        const url = await create(stack, { 'upload-length': String(archive.length) });
        assert.equal((await patch(url, 0, archive.subarray(0, 2 * CHUNK))).status, 204);
        const ended = stack.nextObservation();
        assert.equal((await tusRequest(url, 'DELETE', TUS)).status, 204);
        assert.equal((await ended).outcome, 'cancelled');
        assert.equal((await tusRequest(url, 'HEAD', TUS)).status, 404);
        await assertNothingStored(stack);
    });
    test('an upload without progress for RESUMABLE_EXPIRY_MS expires: its call is cancelled, then 410', async (t) => {
        const stack = await startStack(t, { config: { resumableExpiryMs: 1000 } });
        const url = await create(stack, { 'upload-length': String(2 * CHUNK) });
        assert.equal((await patch(url, 0, gzipLike(CHUNK))).status, 204);
        assert.equal((await stack.nextObservation()).outcome, 'cancelled');
        const head = await tusRequest(url, 'HEAD', TUS);
        assert.equal(head.status, 410);
        const res = await patch(url, CHUNK, gzipLike(100));
        assertRefusal({ status: res.status, body: res.body }, 410, 5, /expired/);
    });
});
describe('resumable uploads: broken connections', () => {
    test('a final answer lost on the way: the resumed client reads the id from HEAD', async (t) => {
        const stack = await startStack(t);
        const proxy = await proxied(t, stack);
        proxy.dropResponseWhen((data) => data.includes('ignite-context-id'));
        const archive = gzipLike(2 * CHUNK + 1);
        const { contextId } = await tusUpload(`${proxy.url}/v1/ignite/uploads`, archive);
        assert.equal(contextId, stack.observed[0].contextId);
        assert.equal(stack.opened.length, 1);
    });
    test('a connection that dies silently: the next request ends the stale PATCH, the upload completes', async (t) => {
        // Only the newer request can end the stale PATCH: the idle timeout is far away.
        const stack = await startStack(t, { config: { uploadIdleTimeoutMs: 120_000 } });
        const proxy = await proxied(t, stack);
        const archive = gzipLike(8 * 1024 * 1024);
        proxy.blackholeWhenSent(Math.floor(archive.length * 0.4));
        let upload;
        const done = new Promise((resolve, reject) => {
            upload = new tus.Upload(archive, {
                endpoint: `${proxy.url}/v1/ignite/uploads`,
                metadata: { filename: 'ctx.tar.gz' },
                retryDelays: [0, 100, 300],
                onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Ignite-Context-Id') ?? null),
                onError: reject,
            });
        });
        upload.start();
        await proxy.broke;
        // What the page does when the browser comes back online: abort the stalled request and start again.
        await upload.abort();
        upload.start();
        const contextId = await done;
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive));
        assert.equal(stack.opened.length, 1);
    });
});
describe('resumable uploads: a restarted bridge', () => {
    test('the client is told the upload is gone, a fresh upload succeeds, nothing partial is stored', async (t) => {
        const dataDir = await mkdtemp(join(tmpdir(), 'bridge-resumable-restart-'));
        const first = await spawnBridge(t, { IGNITE_DATA_DIR: dataDir });
        const archive = gzipLike(3 * CHUNK + 3);
        const url = await create(first.url, { 'upload-length': String(archive.length) });
        assert.equal((await patch(url, 0, archive.subarray(0, 2 * CHUNK))).status, 204);
        first.child.kill('SIGKILL');
        await first.exited;
        const second = await spawnBridge(t, { IGNITE_DATA_DIR: dataDir });
        const moved = url.replace(first.url, second.url);
        const head = await tusRequest(moved, 'HEAD', TUS);
        assert.equal(head.status, 404, 'the new process never continues the old call');
        const { contextId } = await tusUpload(`${second.url}/v1/ignite/uploads`, archive, { uploadUrl: moved });
        assert.ok(contextId);
        const stored = (await readdir(join(dataDir, 'contexts'))).filter((f) => !f.startsWith('.')).sort();
        assert.deepEqual(stored, [contextId, `${contextId}.json`]);
        assert.deepEqual(second.warnings(), [], 'one reply per request, nothing to warn about');
    });
});
describe('resumable uploads: requests that overlap', () => {
    test('a HEAD while the final PATCH waits on a slow upstream: the upload is still committed, HEAD says 423 until the id is known', async (t) => {
        const stack = await startStack(t, { reference: { faults: { chunkDelayMs: 1000 } } });
        const archive = gzipLike(3 * CHUNK + 10);
        const url = await create(stack, { 'upload-length': String(archive.length) });
        assert.equal((await patch(url, 0, archive.subarray(0, CHUNK - 5))).status, 204);
        const id = url.split('/').at(-1);
        // Completes two chunks at once: the second waits until the slow upstream took the first.
        const final = patch(url, CHUNK - 5, archive.subarray(CHUNK - 5));
        // Every byte taken, the last chunks still waiting for the upstream to read.
        await eventually(() => stack.app.resumableUploads.get(id, 'anonymous').offset === archive.length, 'the final bytes were taken');
        // A newer request wins: the HEAD ends the final PATCH if it still reads, whose bytes are all in, so the commit runs either way.
        const committing = await tusRequest(url, 'HEAD', TUS);
        assert.equal(committing.status, 423);
        assert.equal(committing.headers['retry-after'], '5');
        const answer = await final;
        assert.ok([200, 409].includes(answer.status), `final PATCH ${answer.status} ${answer.body}`);
        let done;
        await eventually(async () => {
            done = await tusRequest(url, 'HEAD', TUS);
            return done.status === 200;
        }, 'the commit was answered', 20_000);
        const contextId = String(done.headers['ignite-context-id']);
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive));
        assert.equal(stack.opened.length, 1);
    });
    test('PATCHes at the same offset while one is feeding the call: the newer ends the older (409, its bytes kept), then finds the offset moved (409); never two feed it', async (t) => {
        const stack = await startStack(t, { reference: { faults: { chunkDelayMs: 100 } } });
        const archive = gzipLike(4 * CHUNK);
        const url = await create(stack, { 'upload-length': String(archive.length) });
        const path = new URL(url).pathname;
        const id = path.split('/').at(-1);
        assert.equal((await patch(url, 0, archive.subarray(0, CHUNK))).status, 204);
        // The first PATCH sends part of its body and stalls, holding the upload.
        const first = await RawClient.connect(stack.baseUrl);
        t.after(() => first.destroy());
        await first.write(head('PATCH', path, { ...OCTETS, 'upload-offset': CHUNK, 'content-length': archive.length - CHUNK }));
        await first.write(archive.subarray(CHUNK, CHUNK + 100_000));
        await eventually(() => stack.app.resumableUploads.get(id, 'anonymous').offset === CHUNK + 100_000, 'the first PATCH\'s bytes were taken');
        const rest = archive.subarray(CHUNK);
        const [second, third] = await Promise.all([patch(url, CHUNK, rest), patch(url, CHUNK, rest)]);
        const superseded = await first.response();
        assert.equal(superseded.status, 409, superseded.body);
        assert.match(superseded.body, /A newer request for this upload arrived/);
        for (const res of [second, third]) {
            assertRefusal({ status: res.status, body: res.body }, 409, 9, new RegExp(`holds ${CHUNK + 100_000} bytes`));
            assert.equal(res.headers['upload-offset'], String(CHUNK + 100_000));
        }
        const head1 = await tusRequest(url, 'HEAD', TUS);
        assert.equal(head1.status, 200);
        assert.equal(head1.headers['upload-offset'], String(CHUNK + 100_000));
        const last = await patch(url, CHUNK + 100_000, archive.subarray(CHUNK + 100_000));
        assert.equal(last.status, 200, last.body);
        const contextId = String(last.headers['ignite-context-id']);
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive), 'the bytes of the PATCHes never mixed');
        assert.equal(stack.opened.length, 1);
    });
});
describe('resumable uploads: their whole life and the drain', () => {
    test('RESUMABLE_MAX_LIFETIME_MS ends an upload even while it progresses: its call is cancelled, then 410', async (t) => {
        const stack = await startStack(t, { config: { resumableExpiryMs: 60_000, resumableMaxLifetimeMs: 1500 } });
        const archive = gzipLike(4 * CHUNK);
        const url = await create(stack, { 'upload-length': String(archive.length) });
        const ended = stack.nextObservation();
        let offset = 0;
        let last;
        // A PATCH every 100 ms: the sliding expiry never runs out, only the lifetime can.
        for (;;) {
            last = await patch(url, offset, archive.subarray(offset, offset + 20_000));
            if (last.status !== 204)
                break;
            offset += 20_000;
            assert.ok(offset < archive.length, 'the lifetime never ended the upload');
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assertRefusal({ status: last.status, body: last.body }, 410, 5, /RESUMABLE_MAX_LIFETIME_MS/);
        assert.equal((await ended).outcome, 'cancelled');
    });
    test('SIGTERM: a paused upload may finish within the grace period; one still unfinished after it is reset', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(2 * CHUNK + 7);
        const finishing = await create(stack, { 'upload-length': String(archive.length) });
        const abandoned = await create(stack, { 'upload-length': String(archive.length) });
        assert.equal((await patch(finishing, 0, archive.subarray(0, CHUNK))).status, 204);
        assert.equal((await patch(abandoned, 0, archive.subarray(0, CHUNK))).status, 204);
        const [first, second] = [stack.opened[0], stack.opened[1]];
        const stopped = shutDown({ app: stack.app, gate: stack.app.uploadGate, upstream: stack.upstream, graceMs: 1500, responseTimeoutMs: 5000 });
        const created = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-length': '10', 'upload-metadata': `filename ${b64('late.tar.gz')}` });
        assertRefusal({ status: created.status, body: created.body }, 503, 14, /shutting down/);
        const done = await patch(finishing, CHUNK, archive.subarray(CHUNK));
        assert.equal(done.status, 200, done.body);
        await stopped;
        await eventually(() => stack.observed.includes(first) && stack.observed.includes(second), 'both calls ended');
        assert.equal(first.outcome, 'stored');
        assert.equal(second.outcome, 'cancelled');
    });
});
//# sourceMappingURL=resumable-uploads.test.js.map