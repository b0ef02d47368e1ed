import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { spawnBridge, startReplicas } from './bridge-process.js';
import { DelayProxy } from './delay-proxy.js';
import { assertRefusal, gzipLike, unusedPort } from './helpers.js';
import { buildVersion, PRE_BUILD_VERSION } from './previous-version.js';
import { eventually } from './raw-http.js';
import { redisSkip } from './redis-server.js';
/** UPLOAD_IDLE_TIMEOUT_MS of the replicas: their claims' lease, and their process heartbeat's. */
const LEASE_MS = 2000;
async function put(base, path, body, key) {
    const res = await request(`${base}${path}`, { method: 'PUT', body, headers: { 'idempotency-key': key } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}
const ready = async (replica) => eventually(async () => {
    const res = await request(`${replica.url}/readyz`);
    return (await res.body.json()).redis === 'ready';
}, 'connected to Redis', 10_000);
describe('upload and build across replicas (Idempotency-Keys on a shared Redis)', { skip: redisSkip }, () => {
    let replicas;
    let apiPort;
    /** Read by the reference's CreateBuild on every call. */
    const faults = {};
    const builds = [];
    /** Contexts the upstream committed, by name. */
    const committed = [];
    const committedAs = (name) => committed.filter((n) => n === name).length;
    before(async () => {
        apiPort = await unusedPort();
        replicas = await startReplicas({ UPLOAD_IDLE_TIMEOUT_MS: String(LEASE_MS), IGNITE_API_URL: `http://127.0.0.1:${apiPort}` }, { buildApi: { port: apiPort, faults } });
        replicas.reference.events.on('build', (record) => builds.push(record));
        replicas.reference.events.on('upload', (o) => {
            if (o.outcome === 'stored')
                committed.push(o.metadata.name);
        });
        await Promise.all([ready(replicas.a), ready(replicas.b)]);
    });
    after(() => replicas.close());
    /** The release before builds, as its own replica (its page is bundled at build time, which buildVersion skips: off). */
    const previousVersion = async (t) => spawnBridge(t, { ...replicas.env, UPLOAD_PAGE: 'false' }, await buildVersion(PRE_BUILD_VERSION));
    test('the API fails on replica A (424 BUILD_NOT_STARTED); the retry on replica B starts only the build; A replays the pair', async () => {
        const archive = gzipLike(500_000);
        const path = '/v1/ignite/contexts/across.tar.gz?build=across&tags=latest';
        faults.status = 500;
        const refused = await put(replicas.a.url, path, archive, 'k-across');
        const info = assertRefusal(refused, 424, 9, undefined, 'BUILD_NOT_STARTED');
        delete faults.status;
        const built = await put(replicas.b.url, path, archive, 'k-across');
        assert.equal(built.status, 200, built.body);
        const body = JSON.parse(built.body);
        assert.equal(body.contextId, info.metadata['contextId']);
        assert.equal(body.build.contextId, body.contextId);
        const replay = await put(replicas.a.url, path, archive, 'k-across');
        assert.equal(replay.body, built.body);
        assert.equal(replay.headers['idempotent-replayed'], 'true');
        assert.equal(committedAs('across.tar.gz'), 1);
        assert.deepEqual(builds.filter((b) => b.name === 'across').map((b) => b.id), [body.build.id]);
    });
    test('kill -9 of the replica between "build sent" and the API\'s answer: the other replica answers 424 BUILD_OUTCOME_UNKNOWN, the previous version never uploads again; one context, one build', async (t) => {
        // The owner reaches the API through a proxy, which tells when CreateBuild's request arrived.
        const proxy = await DelayProxy.start(apiPort);
        t.after(() => proxy.close());
        const [owner, previous] = await Promise.all([
            spawnBridge(t, { ...replicas.env, IGNITE_API_URL: `http://127.0.0.1:${proxy.port}` }),
            previousVersion(t),
        ]);
        await Promise.all([ready(owner), ready(previous)]);
        const archive = gzipLike(400_000);
        const path = '/v1/ignite/contexts/killed.tar.gz?build=killed';
        faults.delayMs = 6000;
        const called = new Promise((resolve) => proxy.on('forwarded', (data) => {
            if (data.includes('"contextId"'))
                resolve();
        }));
        const created = once(replicas.reference.events, 'build');
        const first = put(owner.url, path, archive, 'k-killed').catch((err) => err);
        await called;
        // While the owner lives, its key is taken: 409 here, and on the previous version.
        assert.equal((await put(replicas.b.url, path, archive, 'k-killed')).status, 409);
        assert.equal((await put(previous.url, path, archive, 'k-killed')).status, 409);
        owner.child.kill('SIGKILL');
        await owner.exited;
        await first;
        let reply;
        await eventually(async () => (reply = await put(replicas.b.url, path, archive, 'k-killed')).status !== 409, 'the dead owner\'s heartbeat ran out', LEASE_MS + 3000);
        const info = assertRefusal(reply, 424, 9, /whether the build started is unknown \(the bridge replica calling CreateBuild stopped/, 'BUILD_OUTCOME_UNKNOWN');
        assert.equal(reply.headers['ignite-context-id'], info.metadata['contextId']);
        // The previous version reads it as an upload whose outcome is unknown: never free.
        const old = await put(previous.url, path, archive, 'k-killed');
        assert.equal(old.status, 504, old.body);
        const [record] = await created;
        delete faults.delayMs;
        assert.equal(record.contextId, info.metadata['contextId']);
        assertRefusal(await put(replicas.a.url, path, archive, 'k-killed'), 424, 9, undefined, 'BUILD_OUTCOME_UNKNOWN');
        assert.equal(committedAs('killed.tar.gz'), 1);
        assert.equal(builds.filter((b) => b.name === 'killed').length, 1);
    });
    test('a completed pair on the previous version: read as done (422 for its build-less retry), never uploaded again', async (t) => {
        const previous = await previousVersion(t);
        await ready(previous);
        const archive = gzipLike(100_000);
        const built = await put(replicas.a.url, '/v1/ignite/contexts/pair.tar.gz?build=pair', archive, 'k-pair');
        assert.equal(built.status, 200, built.body);
        const old = await put(previous.url, '/v1/ignite/contexts/pair.tar.gz?build=pair', archive, 'k-pair');
        assert.equal(old.status, 422, old.body);
        assert.equal(committedAs('pair.tar.gz'), 1);
    });
});
//# sourceMappingURL=build-replicas.test.js.map