import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { REDIS_COMMAND_TIMEOUT_MS } from '../src/shared-state/redis-connection.js';
import { spawnBridge, startReplicas } from './bridge-process.js';
import { gzipLike, sha256 } from './helpers.js';
import { eventually, head, RawClient } from './raw-http.js';
import { redisSkip } from './redis-server.js';
import { sleep, startSource } from './webhook-helpers.js';
/** UPLOAD_IDLE_TIMEOUT_MS of the replicas: also their claims' lease and their imports' heartbeat lease. */
const LEASE_MS = 2000;
async function put(base, name, body, headers = {}) {
    const res = await request(`${base}/v1/ignite/contexts/${name}`, { method: 'PUT', body, headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}
async function get(url) {
    const res = await request(url);
    return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}
async function startImport(base, url, name) {
    const res = await request(`${base}/v1/ignite/contexts:import`, {
        method: 'POST',
        body: JSON.stringify({ url, name }),
        headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}
function assertSharedStateUnavailable(reply) {
    assert.equal(reply.status, 503, JSON.stringify(reply.body));
    assert.equal(reply.body['code'], 14);
    assert.equal(reply.headers['retry-after'], '5');
    assert.match(String(reply.body['message']), /\(Redis, REDIS_URL\) .* is unreachable/);
}
/** An upload on a bare socket that has taken its Idempotency-Key (the bridge granted 100-continue) and sends its body later. */
async function claimingUpload(base, name, key, length) {
    const client = await RawClient.connect(base);
    await client.write(head('PUT', `/v1/ignite/contexts/${name}`, { 'content-length': length, 'idempotency-key': key, expect: '100-continue' }));
    assert.equal(await client.firstReply(), 100, 'the key was claimed');
    return client;
}
describe('many replicas sharing one Redis', { skip: redisSkip }, () => {
    let replicas;
    let redis;
    let reference;
    let env;
    let a;
    let b;
    /** Every call the one upstream finished, in order. */
    const observed = [];
    const stored = () => observed.filter((o) => o.outcome === 'stored');
    const nextObservation = () => new Promise((resolve) => reference.events.once('upload', resolve));
    before(async () => {
        replicas = await startReplicas({ UPLOAD_IDLE_TIMEOUT_MS: String(LEASE_MS), IMPORT_ALLOW_HTTP: 'true', IMPORT_ALLOW_PRIVATE_ADDRESSES: 'true' });
        ({ redis, reference, env, a, b } = replicas);
        reference.events.on('upload', (o) => observed.push(o));
    });
    after(() => replicas.close());
    test('a retry on the other replica replays the first contextId (one upstream call); a different body there is 422', async () => {
        const archive = gzipLike(700_000);
        const key = { 'idempotency-key': 'k-replica', authorization: 'Bearer alice' };
        const first = await put(a.url, 'ctx.tar.gz', archive, key);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const retry = await put(b.url, 'ctx.tar.gz', archive, key);
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.deepEqual(retry.body, first.body);
        assert.equal(retry.headers['idempotent-replayed'], 'true');
        const altered = Buffer.from(archive);
        altered[400_000] ^= 0xff;
        const reused = await put(b.url, 'ctx.tar.gz', altered, key);
        assert.equal(reused.status, 422, JSON.stringify(reused.body));
        assert.equal(reused.body['code'], 9);
        // A plain upload through B marks the end: had B forwarded the retry or the altered body, the upstream would have seen it first.
        const marker = await put(b.url, 'marker.tar.gz', gzipLike(1000));
        assert.equal(marker.status, 200);
        assert.deepEqual(observed.map((o) => o.contextId), [first.body['contextId'], marker.body['contextId']]);
    });
    test('the same key in flight on one replica is 409 on the other; once done, the other replays it', async () => {
        const archive = gzipLike(300_000);
        const upload = await claimingUpload(a.url, 'slow.tar.gz', 'k-in-flight', archive.length);
        const busy = await put(b.url, 'slow.tar.gz', archive, { 'idempotency-key': 'k-in-flight' });
        assert.equal(busy.status, 409, JSON.stringify(busy.body));
        assert.equal(busy.body['code'], 10);
        await upload.write(archive);
        const done = await upload.response();
        upload.destroy();
        assert.equal(done.status, 200, done.body);
        const replay = await put(b.url, 'slow.tar.gz', archive, { 'idempotency-key': 'k-in-flight' });
        assert.equal(replay.body['contextId'], done.json.contextId);
        assert.equal(replay.headers['idempotent-replayed'], 'true');
    });
    test('an async import started on one replica is read, with its result, on the other', async (t) => {
        const archive = gzipLike(600_000);
        const source = await startSource(t, (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length });
            res.end(archive);
        });
        const started = await startImport(a.url, `${source.origin}/ctx.tar.gz`, 'imported.tar.gz');
        assert.equal(started.status, 202, JSON.stringify(started.body));
        const statusUrl = String(started.body['statusUrl']);
        let status = {};
        await eventually(async () => {
            const reply = await get(`${b.url}${statusUrl}`);
            assert.equal(reply.status, 200, JSON.stringify(reply.body));
            status = reply.body;
            return status['status'] !== 'running';
        }, 'the import finished, as seen from the other replica');
        assert.equal(status['status'], 'succeeded', JSON.stringify(status));
        const result = status['result'];
        assert.equal(result.sizeBytes, String(archive.length));
        assert.equal(sha256(await readFile(reference.store.path(result.contextId))), sha256(archive));
        assert.deepEqual((await get(`${a.url}${statusUrl}`)).body, status);
    });
    test('a claim that lapsed while its owner still uploaded (Redis stalled past the lease) is cancelled at its half-close: only the newer claim\'s upload is stored', async () => {
        const first = gzipLike(400_000);
        const upload = await claimingUpload(a.url, 'lapsed.tar.gz', 'k-lapsed', first.length);
        // Keep A's upload alive (its idle timeout) while Redis hangs and A cannot renew its claim.
        let sent = 0;
        const trickle = setInterval(() => {
            if (sent < 200_000)
                void upload.write(first.subarray(sent, (sent += 10_000)));
        }, 200);
        redis.pause();
        await sleep(LEASE_MS + 1000);
        redis.resume();
        const second = gzipLike(300_000);
        const newer = await claimingUpload(b.url, 'lapsed.tar.gz', 'k-lapsed', second.length);
        clearInterval(trickle);
        const aCall = nextObservation();
        await upload.write(first.subarray(sent));
        const old = await upload.response();
        upload.destroy();
        assert.equal(old.status, 503, `the lapsed claim cannot be marked sent, so its call is cancelled: ${old.body}`);
        assert.equal(old.json.code, 14);
        assert.match(String(old.json.message), /could not be marked as sent/);
        assert.match(String(old.json.message), /nothing was stored/);
        assert.equal(old.headers['retry-after'], '5');
        const cancelled = await aCall;
        assert.equal(cancelled.outcome, 'cancelled', 'the upstream saw A\'s call reset, not committed');
        assert.equal(cancelled.bytes, first.length, 'A had sent the whole body');
        await newer.write(second);
        const fresh = await newer.response();
        newer.destroy();
        assert.equal(fresh.status, 200, fresh.body);
        const replay = await put(a.url, 'lapsed.tar.gz', second, { 'idempotency-key': 'k-lapsed' });
        assert.equal(replay.body['contextId'], fresh.json.contextId, 'the key holds the newer claim\'s answer');
        assert.equal((await put(b.url, 'lapsed.tar.gz', first, { 'idempotency-key': 'k-lapsed' })).status, 422);
        assert.deepEqual(stored().filter((o) => o.metadata?.name === 'lapsed.tar.gz').map((o) => o.contextId), [fresh.json.contextId], 'one context stored under the key, never two');
        const metrics = await (await request(`${a.url}/metrics`)).body.text();
        assert.match(metrics, /^ignite_bridge_idempotency_record_failures_total 1$/m);
        assert.ok(a.warnings().some((w) => /claim had lapsed/.test(w.msg)), 'A logged the lapsed claim');
    });
    test('Redis killed: keyed requests and import status get 503 with Retry-After at once, a keyed upload at its half-close is cancelled (503), plain uploads go on, a replica starts anyway; Redis back: keys work again, with no phantom claim', async (t) => {
        const archive = gzipLike(200_000);
        const source = await startSource(t, (_req, res) => res.end());
        const midway = await claimingUpload(a.url, 'midway.tar.gz', 'k-midway', archive.length);
        await redis.kill();
        await eventually(async () => (await get(`${a.url}/readyz`)).body['redis'] === 'unavailable', 'A reports Redis unavailable');
        // An upload that took its key before the outage cannot mark it sent: it is cancelled, not committed unrecorded.
        const midwayCall = nextObservation();
        await midway.write(archive);
        const finished = await midway.response();
        midway.destroy();
        assert.equal(finished.status, 503, finished.body);
        assert.match(String(finished.json.message), /could not be marked as sent .* nothing was stored/);
        assert.equal((await midwayCall).outcome, 'cancelled');
        assert.match(await (await request(`${a.url}/metrics`)).body.text(), /^ignite_bridge_idempotency_record_failures_total 2$/m);
        // The child's log lines reach this process asynchronously.
        await eventually(() => a.logs.some((line) => line.includes('recording the Idempotency-Key outcome failed')), 'A logged the failed release');
        const sentAt = Date.now();
        const refused = await put(a.url, 'outage.tar.gz', archive, { 'idempotency-key': 'k-outage' });
        assert.ok(Date.now() - sentAt < REDIS_COMMAND_TIMEOUT_MS, `answered after ${Date.now() - sentAt} ms`);
        assertSharedStateUnavailable(refused);
        assertSharedStateUnavailable(await get(`${b.url}/v1/ignite/imports/imp_whatever`));
        assertSharedStateUnavailable(await startImport(b.url, `${source.origin}/ctx.tar.gz`, 'x.tar.gz'));
        assert.equal(source.requests.length, 0, 'an import that cannot be tracked is not started');
        const plain = await put(a.url, 'plain.tar.gz', archive);
        assert.equal(plain.status, 200, JSON.stringify(plain.body));
        const ready = await get(`${a.url}/readyz`);
        assert.equal(ready.status, 200);
        assert.equal(ready.body['status'], 'ready');
        const c = await spawnBridge(t, env);
        assert.equal((await get(`${c.url}/readyz`)).body['redis'], 'unavailable');
        assertSharedStateUnavailable(await put(c.url, 'outage.tar.gz', archive, { 'idempotency-key': 'k-outage' }));
        await redis.restart();
        for (const replica of [a, b, c]) {
            await eventually(async () => (await get(`${replica.url}/readyz`)).body['redis'] === 'ready', 'reconnected in the background', 10_000);
        }
        const upstreamSaw = nextObservation();
        const recovered = await put(a.url, 'outage.tar.gz', archive, { 'idempotency-key': 'k-outage' });
        assert.equal(recovered.status, 200, `no phantom claim from the outage: ${JSON.stringify(recovered.body)}`);
        assert.equal(recovered.headers['idempotent-replayed'], undefined);
        assert.equal((await upstreamSaw).contextId, recovered.body['contextId']);
        assert.equal((await put(c.url, 'outage.tar.gz', archive, { 'idempotency-key': 'k-outage' })).body['contextId'], recovered.body['contextId']);
        // Errors (the 503s above) are logged at 50; the outage itself is one warning, not one per reconnect attempt.
        const warnings = c.warnings().filter((w) => w.level === 40);
        assert.equal(warnings.length, 1, JSON.stringify(warnings));
        assert.match(warnings[0].msg, /^Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/);
    });
    test('a replica killed mid-upload and mid-import: its claim lapses within the lease, its import reads failed on the other', async (t) => {
        const source = await startSource(t, (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/gzip' });
            res.write(gzipLike(1000));
            const drip = setInterval(() => res.write(randomBytes(8192)), 100);
            res.on('close', () => clearInterval(drip));
        });
        for (const replica of [a, b]) {
            await eventually(async () => (await get(`${replica.url}/readyz`)).body['redis'] === 'ready', 'connected to Redis', 10_000);
        }
        const started = await startImport(a.url, `${source.origin}/endless.tar.gz`, 'endless.tar.gz');
        assert.equal(started.status, 202, JSON.stringify(started.body));
        const statusUrl = `${b.url}${String(started.body['statusUrl'])}`;
        await eventually(() => source.requests.length === 1, 'the download runs');
        assert.equal((await get(statusUrl)).body['status'], 'running');
        const archive = gzipLike(300_000);
        const upload = await claimingUpload(a.url, 'orphan.tar.gz', 'k-orphan', archive.length);
        await upload.write(archive.subarray(0, 100_000));
        const storedBefore = stored().length;
        a.child.kill('SIGKILL');
        await a.exited;
        const killedAt = Date.now();
        upload.destroy();
        const held = await put(b.url, 'orphan.tar.gz', archive, { 'idempotency-key': 'k-orphan' });
        assert.equal(held.status, 409, 'the dead owner\'s claim holds until its lease runs out');
        let retried;
        await eventually(async () => {
            retried = await put(b.url, 'orphan.tar.gz', archive, { 'idempotency-key': 'k-orphan' });
            return retried.status !== 409;
        }, 'the claim lapsed', LEASE_MS + 3000);
        assert.equal(retried.status, 200, JSON.stringify(retried.body));
        assert.ok(Date.now() - killedAt <= LEASE_MS + 1500, `usable again ${Date.now() - killedAt} ms after the kill`);
        let status = {};
        await eventually(async () => (status = (await get(statusUrl)).body)['status'] !== 'running', 'the heartbeat expired', LEASE_MS + 3000);
        assert.ok(Date.now() - killedAt <= LEASE_MS + 1500, `failed ${Date.now() - killedAt} ms after the kill`);
        assert.equal(status['status'], 'failed', JSON.stringify(status));
        assert.equal(status['error'].code, 14);
        assert.match(status['error'].message, /replica running this import stopped/);
        assert.deepEqual(stored().slice(storedBefore).map((o) => o.contextId), [retried.body['contextId']], 'nothing of the killed replica\'s calls was stored');
    });
});
//# sourceMappingURL=many-replicas.test.js.map