import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { replicaAddress } from '../src/resumable/replica-address.js';
import { RedisConnection } from '../src/shared-state/redis-connection.js';
import { RedisResumableRecords } from '../src/shared-state/redis-resumable-records.js';
import { spawnBridge, startReplicas } from './bridge-process.js';
import { gzipLike, sha256, unusedPort } from './helpers.js';
import { eventually, head, RawClient } from './raw-http.js';
import { RedisServer, redisSkip } from './redis-server.js';
const CHUNK = 524288;
const TUS = { 'tus-resumable': '1.0.0' };
async function tus(url, method, headers = {}, body) {
    const res = await request(url, {
        method,
        headers: { ...TUS, ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}), ...headers },
        body,
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}
/** Creates an upload of `length` bytes on `base`; answers its URL path. */
async function create(base, length, headers = {}) {
    const created = await tus(`${base}/v1/ignite/uploads`, 'POST', {
        'upload-length': String(length),
        'upload-metadata': `filename ${Buffer.from('ctx.tar.gz').toString('base64')}`,
        ...headers,
    });
    assert.equal(created.status, 201, created.body);
    return String(created.headers['location']);
}
async function patch(base, path, offset, bytes, headers = {}) {
    return tus(`${base}${path}`, 'PATCH', { 'upload-offset': String(offset), ...headers }, bytes);
}
const code = (reply) => JSON.parse(reply.body).code;
test('the address other replicas forward to: POD_IP, else a specific HOST, else an interface address; with the listening port', () => {
    const listening = { address: '0.0.0.0', family: 'IPv4', port: 8080 };
    assert.equal(replicaAddress('10.1.2.3', '0.0.0.0', listening), 'http://10.1.2.3:8080');
    assert.equal(replicaAddress('fd00::7', '0.0.0.0', listening), 'http://[fd00::7]:8080');
    assert.equal(replicaAddress(undefined, '192.168.4.2', listening), 'http://192.168.4.2:8080');
    const derived = new URL(replicaAddress(undefined, '0.0.0.0', listening));
    assert.notEqual(derived.hostname, '0.0.0.0');
    assert.equal(derived.port, '8080');
});
test('two replicas claiming one upload at once: exactly one becomes its owner', { skip: redisSkip }, async (t) => {
    const redis = await RedisServer.start(t);
    const connection = new RedisConnection(redis.url, { info: () => { }, warn: () => { } });
    t.after(() => connection.close());
    const records = new RedisResumableRecords(connection);
    const now = Date.now();
    const spec = { id: 'race', name: 'ctx.tar.gz', length: 10, metadata: undefined, scope: 'anonymous', capKeys: ['address:x'], createdAt: now };
    await eventually(() => connection.state === 'ready', 'connected');
    await records.create({ spec, expiresAt: now + 60_000 }, 120_000);
    const owners = Array.from({ length: 8 }, (_, i) => ({ address: `http://10.0.0.${i}:8080`, instance: `i${i}` }));
    const results = await Promise.all(owners.map((owner) => records.claim('race', owner, now, 120_000)));
    const winner = results[0].owner;
    assert.ok(results.every((r) => r?.owner?.instance === winner.instance), 'every claimant reads the same owner');
    assert.equal((await records.read('race'))?.owner?.instance, winner.instance);
    assert.equal(await records.finish('race', owners.find((o) => o.instance !== winner.instance), { gone: { code: 'X', message: 'x' } }, 1000), false, 'only the owner ends it');
    assert.equal(await records.finish('race', winner, { gone: { code: 'X', message: 'x' } }, 1000), true);
    const expired = { ...spec, id: 'expired' };
    await records.create({ spec: expired, expiresAt: now - 1 }, 60_000);
    assert.equal((await records.claim('expired', owners[0], now, 60_000))?.owner, undefined, 'an expired record is not claimed');
});
describe('resumable uploads across replicas sharing one Redis', { skip: redisSkip }, () => {
    let replicas;
    let redis;
    let reference;
    let env;
    let a;
    let b;
    const observed = [];
    /** Every call as it runs (its byte count grows), in order. */
    const calls = [];
    let opened = 0;
    before(async () => {
        replicas = await startReplicas({ UPLOAD_IDLE_TIMEOUT_MS: '5000' });
        ({ redis, reference, env, a, b } = replicas);
        reference.events.on('call', (o) => {
            opened++;
            calls.push(o);
        });
        reference.events.on('upload', (o) => observed.push(o));
    });
    after(() => replicas.close());
    test('created on A, PATCHes alternating between A and B: one upstream call, exact chunks, the same bytes; the answer is read on either replica, by its credential only', async () => {
        const archive = gzipLike(3 * CHUNK + 4321);
        const alice = { authorization: 'Bearer alice' };
        const path = await create(a.url, archive.length, alice);
        const unclaimed = await tus(`${b.url}${path}`, 'HEAD', alice);
        assert.equal(unclaimed.status, 200, unclaimed.body);
        assert.equal(unclaimed.headers['upload-offset'], '0');
        assert.equal(unclaimed.headers['upload-length'], String(archive.length));
        const openedBefore = opened;
        const observedBefore = observed.length;
        // The first PATCH lands on B, which claims the upload; the rest alternate.
        const cuts = [0, 400_000, 900_000, 1_300_000, archive.length];
        let last;
        for (let i = 0; i + 1 < cuts.length; i++) {
            const base = i % 2 === 0 ? b.url : a.url;
            const offset = cuts[i];
            const resumed = await tus(`${base}${path}`, 'HEAD', alice);
            assert.equal(resumed.headers['upload-offset'], String(offset), `HEAD on ${base}`);
            last = await patch(base, path, offset, archive.subarray(offset, cuts[i + 1]), alice);
            if (i + 2 < cuts.length) {
                assert.equal(last.status, 204, last.body);
                assert.equal(last.headers['upload-offset'], String(cuts[i + 1]));
            }
        }
        assert.equal(last.status, 200, last.body);
        const answer = JSON.parse(last.body);
        assert.equal(answer.sizeBytes, String(archive.length));
        assert.equal(last.headers['ignite-context-id'], answer.contextId);
        await eventually(() => observed.length > observedBefore, 'the upstream finished the call');
        assert.equal(opened - openedBefore, 1, 'one upstream call');
        const call = observed.at(-1);
        assert.equal(call.outcome, 'stored');
        assert.equal(call.contextId, answer.contextId);
        assert.deepEqual(call.sizesBeforeLast, [CHUNK]);
        assert.equal(sha256(await readFile(reference.store.path(answer.contextId))), sha256(archive));
        for (const base of [a.url, b.url]) {
            const done = await tus(`${base}${path}`, 'HEAD', alice);
            assert.equal(done.status, 200, done.body);
            assert.equal(done.headers['ignite-context-id'], answer.contextId, `HEAD on ${base}`);
            assert.equal(done.headers['ignite-size-bytes'], answer.sizeBytes);
            assert.equal(done.headers['upload-offset'], String(archive.length));
            assert.equal((await tus(`${base}${path}`, 'HEAD', { authorization: 'Bearer mallory' })).status, 404, 'another credential');
            assert.equal((await tus(`${base}${path}`, 'HEAD')).status, 404, 'no credential');
        }
        // The final PATCH again (its answer was lost), on the replica that did not hold the call: the same answer.
        const again = await patch(a.url, path, archive.length, Buffer.alloc(0), alice);
        assert.equal(again.status, 200, again.body);
        assert.equal(again.headers['ignite-context-id'], answer.contextId);
    });
    test('a forwarded PATCH whose client disconnects pauses the upload on its owner, bytes kept; it resumes through either replica', async () => {
        const archive = gzipLike(2 * CHUNK + 999);
        const path = await create(a.url, archive.length);
        const openedBefore = opened + 1;
        assert.equal((await patch(a.url, path, 0, archive.subarray(0, 300_000))).status, 204, 'A holds the call');
        await eventually(() => opened === openedBefore, 'the upstream saw the call');
        const call = calls.at(-1);
        const cut = await RawClient.connect(b.url);
        await cut.write(head('PATCH', path, { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': 300_000, 'content-length': archive.length - 300_000 }));
        await cut.write(archive.subarray(300_000, 900_000));
        // (A HEAD now would end this PATCH: a newer request wins.) The first chunk reaching the upstream shows the bytes flow through B to A.
        await eventually(() => call.bytes >= CHUNK, 'the owner forwards the bytes upstream');
        cut.destroy();
        // Every byte that reached the owner before the cut is kept: resume from the offset HEAD tells.
        let offset = 0;
        await eventually(async () => {
            const res = await tus(`${b.url}${path}`, 'HEAD');
            offset = Number(res.headers['upload-offset']);
            return res.status === 200 && offset >= CHUNK;
        }, `paused with the forwarded bytes kept (HEAD says ${offset})`);
        assert.ok(offset <= 900_000, `offset ${offset}`);
        const done = await patch(b.url, path, offset, archive.subarray(offset));
        assert.equal(done.status, 200, done.body);
        const { contextId } = JSON.parse(done.body);
        assert.equal(opened, openedBefore, 'still the one call');
        await eventually(() => observed.some((o) => o.contextId === contextId), 'stored');
        assert.equal(sha256(await readFile(reference.store.path(contextId))), sha256(archive));
    });
    test('termination through the replica that does not hold the call resets it; an unclaimed upload is terminated from its record', async () => {
        const archive = gzipLike(2 * CHUNK);
        const path = await create(a.url, archive.length);
        const observedBefore = observed.length;
        assert.equal((await patch(a.url, path, 0, archive.subarray(0, CHUNK + 10))).status, 204);
        const deleted = await tus(`${b.url}${path}`, 'DELETE');
        assert.equal(deleted.status, 204, deleted.body);
        await eventually(() => observed.length > observedBefore, 'the upstream saw the call end');
        assert.equal(observed.at(-1).outcome, 'cancelled');
        for (const base of [a.url, b.url])
            assert.equal((await tus(`${base}${path}`, 'HEAD')).status, 404, `HEAD on ${base}`);
        const unclaimed = await create(b.url, 1000);
        assert.equal((await tus(`${a.url}${unclaimed}`, 'DELETE')).status, 204);
        const late = await patch(b.url, unclaimed, 0, gzipLike(1000));
        assert.equal(late.status, 404, late.body);
    });
    test('an owner restarted at the same address does not know the upload: 410 on either replica, never a new call at offset > 0', async (t) => {
        const port = await unusedPort();
        const c = await spawnBridge(t, { ...env, PORT: String(port) });
        const archive = gzipLike(2 * CHUNK);
        const path = await create(b.url, archive.length);
        assert.equal((await patch(c.url, path, 0, archive.subarray(0, 600_000))).status, 204, 'C holds the call');
        c.child.kill('SIGKILL');
        await c.exited;
        const restarted = await spawnBridge(t, { ...env, PORT: String(port) });
        const openedBefore = opened;
        for (const base of [b.url, restarted.url]) {
            assert.equal((await tus(`${base}${path}`, 'HEAD')).status, 410, `HEAD on ${base}`);
            const resumed = await patch(base, path, 600_000, archive.subarray(600_000));
            assert.equal(resumed.status, 410, resumed.body);
            assert.match(resumed.body, /restarted/);
        }
        assert.equal(opened, openedBefore, 'no new upstream call');
    });
    test('the owner killed mid-upload: the other replica answers 410 and a fresh upload there succeeds; nothing partial is stored', async () => {
        const archive = gzipLike(3 * CHUNK);
        const path = await create(b.url, archive.length);
        assert.equal((await patch(a.url, path, 0, archive.subarray(0, CHUNK + 100))).status, 204, 'A holds the call');
        const storedBefore = observed.filter((o) => o.outcome === 'stored').length;
        a.child.kill('SIGKILL');
        await a.exited;
        assert.equal((await tus(`${b.url}${path}`, 'HEAD')).status, 410);
        const resumed = await patch(b.url, path, CHUNK + 100, archive.subarray(CHUNK + 100));
        assert.equal(resumed.status, 410, resumed.body);
        assert.equal(code(resumed), 5);
        assert.match(resumed.body, /cannot be reached/);
        const fresh = await create(b.url, archive.length);
        const done = await patch(b.url, fresh, 0, archive);
        assert.equal(done.status, 200, done.body);
        const { contextId } = JSON.parse(done.body);
        await eventually(() => observed.some((o) => o.contextId === contextId), 'the upstream stored the fresh upload');
        assert.deepEqual(observed.filter((o) => o.outcome === 'stored').slice(storedBefore).map((o) => o.contextId), [contextId], 'nothing of the killed call was stored');
        assert.equal(sha256(await readFile(reference.store.path(contextId))), sha256(archive));
    });
    test('Redis down: creating an upload, or reaching one this replica does not hold, is 503 SHARED_STATE_UNAVAILABLE with Retry-After', async () => {
        const path = await create(b.url, 1000);
        await redis.kill();
        try {
            for (const reply of [
                await tus(`${b.url}/v1/ignite/uploads`, 'POST', { 'upload-length': '1000', 'upload-metadata': `filename ${Buffer.from('x.tar.gz').toString('base64')}` }),
                await patch(b.url, path, 0, gzipLike(1000)),
            ]) {
                assert.equal(reply.status, 503, reply.body);
                assert.equal(code(reply), 14);
                assert.equal(reply.headers['retry-after'], '5');
                assert.match(reply.body, /\(Redis, REDIS_URL\) .* is unreachable/);
            }
            const head = await tus(`${b.url}${path}`, 'HEAD');
            assert.equal(head.status, 503);
            assert.equal(head.headers['retry-after'], '5');
        }
        finally {
            await redis.restart();
        }
    });
});
//# sourceMappingURL=resumable-replicas.test.js.map