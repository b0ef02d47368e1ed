import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as tus from 'tus-js-client';
import { RedisConnection } from '../src/shared-state/redis-connection.js';
import { RedisResumableRecords } from '../src/shared-state/redis-resumable-records.js';
import { startReplicas } from './bridge-process.js';
import { assertRefusal, gzipLike, sha256, startStack, storedBytes, unusedPort } from './helpers.js';
import { eventually } from './raw-http.js';
import { redisSkip } from './redis-server.js';
import { b64, OCTETS, TUS, tusRequest } from './tus-client.js';
/**
 * tus uploads that ask for a build (Upload-Metadata `build`, `tags`): the
 * final PATCH stores the context, then calls the reference upstream's
 * CreateBuild over real HTTP; its answer is 200 with the build, or 424 naming
 * the stored context. HEAD then reports the build step (never a 4xx/5xx for a
 * stored context), the same on every replica; nothing is uploaded twice and
 * no second build is ever started.
 */
const CHUNK = 524288;
/** Upload-Metadata: a name, and the build pairs given. */
const metadata = (pairs = {}) => Object.entries({ filename: 'ctx.tar.gz', ...pairs }).map(([key, value]) => `${key} ${b64(value)}`).join(',');
async function create(base, length, pairs, headers = {}) {
    const created = await tusRequest(`${base}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-length': String(length), 'upload-metadata': metadata(pairs), ...headers });
    assert.equal(created.status, 201, created.body);
    return String(created.headers['location']);
}
const patch = (base, path, offset, bytes, headers = {}) => tusRequest(`${base}${path}`, 'PATCH', { ...OCTETS, 'upload-offset': String(offset), ...headers }, bytes);
const headOf = (base, path, headers = {}) => tusRequest(`${base}${path}`, 'HEAD', { ...TUS, ...headers });
/** Collects every build the reference's CreateBuild API creates, and every refusal. */
function watchBuilds(events) {
    const created = [];
    const refused = [];
    events.on('build', (b) => created.push(b));
    events.on('build-refused', (status) => refused.push(status));
    return { created, refused, next: () => new Promise((resolve) => events.once('build', resolve)) };
}
/** The build records on disk (IGNITE_DATA_DIR/builds). */
async function buildsOnDisk(dataDir) {
    const dir = join(dataDir, 'builds');
    const files = (await readdir(dir)).filter((f) => /^bld_.*\.json$/.test(f));
    return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8'))));
}
const contextsOnDisk = async (stack) => (await readdir(stack.reference.store.dir)).filter((f) => /^ctx_[^.]+$/.test(f));
/** HEAD's view of a stored context: 200, offset = length, and the Ignite-* headers. */
function assertStored(reply, length, contextId, state) {
    assert.equal(reply.status, 200, `HEAD ${reply.status} ${reply.body}`);
    assert.equal(reply.headers['upload-offset'], String(length));
    assert.equal(reply.headers['ignite-context-id'], contextId);
    assert.equal(reply.headers['ignite-size-bytes'], String(length));
    assert.equal(reply.headers['ignite-build-state'], state);
}
describe('one replica: the final PATCH stores the context, then starts the build', () => {
    test('200 with the API\'s build under `build` and Ignite-Build-Id; the final PATCH\'s credential went to CreateBuild; HEAD and a repeated final PATCH tell the same, one build', async (t) => {
        const stack = await startStack(t, { reference: { token: 'tok' } });
        const builds = watchBuilds(stack.reference.events);
        const auth = { authorization: 'Bearer tok' };
        const archive = gzipLike(2 * CHUNK + 99);
        const path = await create(stack.baseUrl, archive.length, { build: 'web-app', tags: 'latest,v2' }, auth);
        assert.equal((await patch(stack.baseUrl, path, 0, archive.subarray(0, CHUNK), auth)).status, 204);
        const final = await patch(stack.baseUrl, path, CHUNK, archive.subarray(CHUNK), { ...auth, 'x-request-id': 'final-patch-1' });
        assert.equal(final.status, 200, final.body);
        const answer = JSON.parse(final.body);
        assert.deepEqual(Object.keys(answer), ['contextId', 'sizeBytes', 'build']);
        assert.equal(answer.sizeBytes, String(archive.length));
        assert.equal(sha256(await storedBytes(stack, answer.contextId)), sha256(archive));
        assert.equal(builds.created.length, 1);
        // The API's JSON, verbatim.
        assert.deepEqual(answer.build, builds.created[0]);
        assert.deepEqual({ name: answer.build.name, tags: answer.build.tags, contextId: answer.build.contextId, state: answer.build.state }, { name: 'web-app', tags: ['latest', 'v2'], contextId: answer.contextId, state: 'QUEUED' });
        assert.equal(final.headers['ignite-context-id'], answer.contextId);
        assert.equal(final.headers['ignite-build-id'], answer.build.id);
        assert.equal(final.headers['ignite-build-state'], 'queued');
        assert.equal(final.headers['x-request-id'], 'final-patch-1');
        const head = await headOf(stack.baseUrl, path, auth);
        assertStored(head, archive.length, answer.contextId, 'queued');
        assert.equal(head.headers['ignite-build-id'], answer.build.id);
        assert.equal(head.headers['ignite-build-error'], undefined);
        const again = await patch(stack.baseUrl, path, archive.length, Buffer.alloc(0), auth);
        assert.equal(again.status, 200, again.body);
        assert.deepEqual(JSON.parse(again.body), answer, 'the final answer, replayed');
        assert.equal(stack.opened.length, 1, 'one upstream call');
        assert.deepEqual((await buildsOnDisk(stack.dataDir)).map((b) => b.id), [answer.build.id], 'one build');
    });
    test('tus-js-client: onSuccess reads Ignite-Context-Id, Ignite-Build-Id and Ignite-Build-State from the final response', async (t) => {
        const stack = await startStack(t);
        const builds = watchBuilds(stack.reference.events);
        const archive = gzipLike(3 * CHUNK + 5);
        const seen = await new Promise((resolve, reject) => {
            new tus.Upload(archive, {
                endpoint: `${stack.baseUrl}/v1/ignite/uploads`,
                metadata: { filename: 'ctx.tar.gz', build: 'from-tus', tags: 'latest' },
                chunkSize: 2 * CHUNK,
                retryDelays: [100, 500, 1000],
                onSuccess: ({ lastResponse }) => resolve(Object.fromEntries(['Ignite-Context-Id', 'Ignite-Build-Id', 'Ignite-Build-State', 'Ignite-Build-Error'].map((h) => [h, lastResponse.getHeader(h) ?? null]))),
                onError: reject,
            }).start();
        });
        assert.equal(builds.created.length, 1);
        assert.deepEqual(seen, { 'Ignite-Context-Id': builds.created[0].contextId, 'Ignite-Build-Id': builds.created[0].id, 'Ignite-Build-State': 'queued', 'Ignite-Build-Error': null });
        assert.equal(stack.opened.length, 1);
    });
    test('the API refuses (401): the final PATCH is 424 BUILD_NOT_STARTED naming the context; HEAD 200 not-started; no re-upload, no build', async (t) => {
        const stack = await startStack(t, { reference: { buildApi: { faults: { status: 401 } } } });
        const builds = watchBuilds(stack.reference.events);
        const archive = gzipLike(CHUNK + 7);
        const path = await create(stack.baseUrl, archive.length, { build: 'web' });
        const final = await patch(stack.baseUrl, path, 0, archive);
        const info = assertRefusal({ status: final.status, body: final.body }, 424, 9, /^The context was stored as ctx_/, 'BUILD_NOT_STARTED');
        const contextId = stack.observed[0].contextId;
        assert.deepEqual(info.metadata, { contextId, apiStatus: '401', apiMessage: 'injected failure' });
        assert.equal(final.headers['ignite-context-id'], contextId);
        assert.equal(final.headers['ignite-build-state'], 'not-started');
        assert.equal(final.headers['ignite-build-error'], 'BUILD_NOT_STARTED');
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive));
        const head = await headOf(stack.baseUrl, path);
        assertStored(head, archive.length, contextId, 'not-started');
        assert.equal(head.headers['ignite-build-error'], 'BUILD_NOT_STARTED');
        assert.equal(head.headers['ignite-build-id'], undefined);
        // A repeated final PATCH gets the same 424: CreateBuild is not called again (the client may call it itself).
        const again = await patch(stack.baseUrl, path, archive.length, Buffer.alloc(0));
        assertRefusal({ status: again.status, body: again.body }, 424, 9, undefined, 'BUILD_NOT_STARTED');
        assert.deepEqual(builds.refused, [401], 'CreateBuild was called once');
        assert.equal(builds.created.length, 0);
        assert.equal(stack.opened.length, 1, 'one upstream call');
        assert.deepEqual(await contextsOnDisk(stack), [contextId]);
    });
    test('the API slower than BUILD_REQUEST_TIMEOUT_MS: 424 BUILD_OUTCOME_UNKNOWN; HEAD says unknown; exactly one build is created afterwards', async (t) => {
        const stack = await startStack(t, { config: { buildRequestTimeoutMs: 300 }, reference: { buildApi: { faults: { delayMs: 1500 } } } });
        const builds = watchBuilds(stack.reference.events);
        const archive = gzipLike(CHUNK + 70);
        const path = await create(stack.baseUrl, archive.length, { build: 'slow' });
        const created = builds.next();
        const final = await patch(stack.baseUrl, path, 0, archive);
        const info = assertRefusal({ status: final.status, body: final.body }, 424, 9, /may exist/, 'BUILD_OUTCOME_UNKNOWN');
        const contextId = stack.observed[0].contextId;
        assert.equal(info.metadata['contextId'], contextId);
        assertStored(await headOf(stack.baseUrl, path), archive.length, contextId, 'unknown');
        const build = await created;
        assert.equal(build.contextId, contextId, 'the call that timed out did create the build');
        const head = await headOf(stack.baseUrl, path);
        assertStored(head, archive.length, contextId, 'unknown');
        assert.equal(head.headers['ignite-build-error'], 'BUILD_OUTCOME_UNKNOWN');
        const again = await patch(stack.baseUrl, path, archive.length, Buffer.alloc(0));
        assertRefusal({ status: again.status, body: again.body }, 424, 9, undefined, 'BUILD_OUTCOME_UNKNOWN');
        assert.deepEqual((await buildsOnDisk(stack.dataDir)).map((b) => b.id), [build.id], 'exactly one build');
        assert.equal(stack.opened.length, 1);
    });
    test('the API unreachable (IGNITE_API_URL on a closed port): 424 BUILD_NOT_STARTED with apiStatus 0; HEAD not-started', async (t) => {
        const stack = await startStack(t, { config: { apiUrl: `http://127.0.0.1:${await unusedPort()}` } });
        const archive = gzipLike(CHUNK);
        const path = await create(stack.baseUrl, archive.length, { build: 'web' });
        const final = await patch(stack.baseUrl, path, 0, archive);
        const info = assertRefusal({ status: final.status, body: final.body }, 424, 9, /could not be reached/, 'BUILD_NOT_STARTED');
        assert.equal(info.metadata['apiStatus'], '0');
        assertStored(await headOf(stack.baseUrl, path), archive.length, info.metadata['contextId'], 'not-started');
    });
    test('the CreateBuild call holds no upload slot: at MAX_CONCURRENT_UPLOADS=1 another upload goes through while it runs; HEAD says pending', async (t) => {
        const stack = await startStack(t, { config: { maxConcurrentUploads: 1 }, reference: { buildApi: { faults: { delayMs: 1500 } } } });
        const archive = gzipLike(CHUNK + 9);
        const path = await create(stack.baseUrl, archive.length, { build: 'web' });
        const stored = stack.nextObservation();
        const final = patch(stack.baseUrl, path, 0, archive);
        // (A HEAD while the PATCH still sends would end that PATCH: a newer request wins.)
        await stored;
        await eventually(async () => (await headOf(stack.baseUrl, path)).headers['ignite-build-state'] === 'pending', 'the build call runs');
        const other = await tusRequest(`${stack.baseUrl}/v1/ignite/contexts/other.tar.gz`, 'PUT', {}, gzipLike(1000));
        assert.equal(other.status, 200, other.body);
        const done = await final;
        assert.equal(done.status, 200, done.body);
        assert.equal((await headOf(stack.baseUrl, path)).headers['ignite-build-state'], 'queued');
    });
    test('creation-with-upload of the whole archive answers the build too, and keeps its Location for HEAD', async (t) => {
        const stack = await startStack(t, { reference: { buildApi: { faults: { status: 500 } } } });
        const archive = gzipLike(CHUNK + 1);
        const created = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...OCTETS, 'upload-length': String(archive.length), 'upload-metadata': metadata({ build: 'web' }) }, archive);
        const info = assertRefusal({ status: created.status, body: created.body }, 424, 9, undefined, 'BUILD_NOT_STARTED');
        assert.equal(info.metadata['apiStatus'], '500');
        const location = String(created.headers['location']);
        assertStored(await headOf(stack.baseUrl, location), archive.length, info.metadata['contextId'], 'not-started');
    });
});
describe('refused at creation, before any byte', () => {
    test('an invalid build name or tag is 400 INVALID_BUILD; the upstream never saw a call', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(1000);
        const invalid = [{ build: '' }, { build: 'web', tags: 'latest,-bad' }, { tags: 'latest' }, { build: 'web', tags: Array.from({ length: 17 }, (_, i) => `t${i}`).join(',') }];
        for (const pairs of invalid) {
            const refused = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...OCTETS, 'upload-length': String(archive.length), 'upload-metadata': metadata(pairs) }, archive);
            assertRefusal({ status: refused.status, body: refused.body }, 400, 3, /Invalid build request/, 'INVALID_BUILD');
            assert.equal(refused.headers['location'], undefined, JSON.stringify(pairs));
        }
        assert.equal(stack.opened.length, 0, 'no upstream call');
    });
    test('without IGNITE_API_URL a build is 400 BUILD_NOT_CONFIGURED at creation; the upstream never saw a call; an upload without one still works', async (t) => {
        const stack = await startStack(t, { config: { apiUrl: undefined } });
        const archive = gzipLike(1000);
        const refused = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...OCTETS, 'upload-length': String(archive.length), 'upload-metadata': metadata({ build: 'web' }) }, archive);
        assertRefusal({ status: refused.status, body: refused.body }, 400, 3, /IGNITE_API_URL/, 'BUILD_NOT_CONFIGURED');
        assert.equal(stack.opened.length, 0);
        const plain = await create(stack.baseUrl, archive.length, {});
        const done = await patch(stack.baseUrl, plain, 0, archive);
        assert.equal(done.status, 200, done.body);
        assert.deepEqual(Object.keys(JSON.parse(done.body)), ['contextId', 'sizeBytes']);
        assert.equal((await headOf(stack.baseUrl, plain)).headers['ignite-build-state'], undefined, 'no build asked, no build state');
    });
    test('Upload-Metadata may reach 8192 bytes (a long build name and 16 tags fit); more is 400', async (t) => {
        const stack = await startStack(t);
        const tags = Array.from({ length: 16 }, (_, i) => `${'t'.repeat(120)}${i}`).join(',');
        const pairs = { build: 'b'.repeat(255), tags, note: 'x'.repeat(3000) };
        assert.ok(metadata(pairs).length > 4096 && metadata(pairs).length <= 8192, String(metadata(pairs).length));
        await create(stack.baseUrl, 1000, pairs);
        const over = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-length': '1000', 'upload-metadata': metadata({ ...pairs, note: 'x'.repeat(5000) }) });
        assertRefusal({ status: over.status, body: over.body }, 400, 3, /more than the 8192 kept/, 'INVALID_TUS_HEADER');
    });
});
describe('replicas sharing one Redis: the build step in the shared record', { skip: redisSkip }, () => {
    test('HEAD and the final PATCH again on the replica that does not hold the upload answer the same build, also once the owner is gone', async (t) => {
        const port = await unusedPort();
        const replicas = await startReplicas({ IGNITE_API_URL: `http://127.0.0.1:${port}` }, { buildApi: { port } });
        t.after(() => replicas.close());
        const { a, b } = replicas;
        const builds = watchBuilds(replicas.reference.events);
        const archive = gzipLike(2 * CHUNK + 3);
        const path = await create(b.url, archive.length, { build: 'shared', tags: 'v1' });
        const final = await patch(a.url, path, 0, archive);
        assert.equal(final.status, 200, final.body);
        const answer = JSON.parse(final.body);
        assert.equal(builds.created.length, 1);
        const expected = { state: 'queued', id: answer.build.id };
        for (const replica of [b, a]) {
            const head = await headOf(replica.url, path);
            assertStored(head, archive.length, answer.contextId, expected.state);
            assert.equal(head.headers['ignite-build-id'], expected.id, replica.url);
        }
        // From the record alone: the owner is gone.
        a.child.kill('SIGKILL');
        await a.exited;
        const head = await headOf(b.url, path);
        assertStored(head, archive.length, answer.contextId, 'queued');
        assert.equal(head.headers['ignite-build-id'], answer.build.id);
        const again = await patch(b.url, path, archive.length, Buffer.alloc(0));
        assert.equal(again.status, 200, again.body);
        assert.deepEqual(JSON.parse(again.body), answer);
        assert.equal(builds.created.length, 1, 'one build');
    });
    test('a refused build reads the same on both replicas: HEAD 200 not-started, BUILD_NOT_STARTED', async (t) => {
        const port = await unusedPort();
        const replicas = await startReplicas({ IGNITE_API_URL: `http://127.0.0.1:${port}` }, { buildApi: { port, faults: { status: 403 } } });
        t.after(() => replicas.close());
        const { a, b } = replicas;
        const archive = gzipLike(CHUNK + 3);
        const path = await create(a.url, archive.length, { build: 'refused' });
        const final = await patch(b.url, path, 0, archive);
        const info = assertRefusal({ status: final.status, body: final.body }, 424, 9, undefined, 'BUILD_NOT_STARTED');
        for (const replica of [a, b]) {
            const head = await headOf(replica.url, path);
            assertStored(head, archive.length, info.metadata['contextId'], 'not-started');
            assert.equal(head.headers['ignite-build-error'], 'BUILD_NOT_STARTED');
        }
        await eventually(async () => (await headOf(a.url, path)).headers['ignite-build-state'] === 'not-started', 'the record has the outcome');
    });
    test('the owner killed (kill -9) between "build sent" and the API\'s answer: the other replica\'s HEAD says 200, build state unknown; one context, at most one build', async (t) => {
        const port = await unusedPort();
        const replicas = await startReplicas({ IGNITE_API_URL: `http://127.0.0.1:${port}` }, { buildApi: { port, faults: { delayMs: 2000 } } });
        t.after(() => replicas.close());
        const { a, b, redis } = replicas;
        const builds = watchBuilds(replicas.reference.events);
        const admin = new RedisConnection(redis.url, { info: () => { }, warn: () => { } });
        t.after(() => admin.close());
        const records = new RedisResumableRecords(admin);
        await eventually(() => admin.state === 'ready', 'connected');
        const archive = gzipLike(2 * CHUNK + 40);
        const path = await create(b.url, archive.length, { build: 'orphan' });
        const id = path.split('/').at(-1);
        const final = patch(a.url, path, 0, archive).catch(() => undefined);
        await eventually(async () => (await records.read(id))?.build?.sentAt !== undefined, 'the record says "build sent"', 10_000);
        const pending = await headOf(b.url, path);
        assert.equal(pending.headers['ignite-build-state'], 'pending', 'the owner is still waiting for the API');
        const created = builds.next();
        a.child.kill('SIGKILL');
        await a.exited;
        await final;
        const end = (await records.read(id))?.end;
        assert.ok(end && 'answer' in end, 'the context was stored and recorded');
        const { contextId } = end.answer;
        const head = await headOf(b.url, path);
        assertStored(head, archive.length, contextId, 'unknown');
        assert.equal(head.headers['ignite-build-error'], 'BUILD_OUTCOME_UNKNOWN');
        const again = await patch(b.url, path, archive.length, Buffer.alloc(0));
        assertRefusal({ status: again.status, body: again.body }, 424, 9, /may exist/, 'BUILD_OUTCOME_UNKNOWN');
        // The request the dead replica sent still lands: the build exists, once.
        const build = await created;
        assert.equal(build.contextId, contextId);
        assertStored(await headOf(b.url, path), archive.length, contextId, 'unknown');
        const onDisk = await buildsOnDisk(join(replicas.reference.store.dir, '..'));
        assert.deepEqual(onDisk.map((x) => x.id), [build.id], 'one build');
        assert.deepEqual((await readdir(replicas.reference.store.dir)).filter((f) => /^ctx_[^.]+$/.test(f)), [contextId], 'one context');
    });
});
//# sourceMappingURL=resumable-builds.test.js.map