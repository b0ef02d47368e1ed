import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { MemoryIdempotencyStore } from '../src/admission/idempotency-store.js';
import { dataDirEntries, gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { signatureHeaders } from './webhook-helpers.js';
import { eventually } from './raw-http.js';
import { storeContract, TTL_MS } from './idempotency-store-contract.js';
async function put(stack, name, body, headers) {
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts/${name}`, { method: 'PUT', body, headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}
const stored = (stack) => stack.observed.filter((o) => o.outcome === 'stored').length;
describe('Idempotency-Key', () => {
    test('a retry with the same key and body gets the first response; the upstream stored one context', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(3 * 524288 + 77);
        const key = { 'idempotency-key': '"ci-run-42"', authorization: 'Bearer alice' };
        const first = await put(stack, 'ctx.tar.gz', archive, key);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const retry = await put(stack, 'ctx.tar.gz', archive, key);
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.deepEqual(retry.body, first.body);
        assert.equal(retry.headers['idempotent-replayed'], 'true');
        // A keyed upload is hashed for its fingerprint, so both answers carry the archive's sha-256.
        assert.equal(first.headers['repr-digest'], `sha-256=:${Buffer.from(sha256(archive), 'hex').toString('base64')}:`);
        assert.equal(retry.headers['repr-digest'], first.headers['repr-digest']);
        // Chunked this time (no Content-Length): the fingerprint is name, size and sha-256, not the framing.
        const chunked = await put(stack, 'ctx.tar.gz', Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]), key);
        assert.deepEqual(chunked.body, first.body);
        assert.equal(stack.observed.length, 1, 'the upstream saw exactly one call');
        assert.equal((await dataDirEntries(stack)).filter((e) => !e.endsWith('.json')).length, 1);
        assert.equal(sha256(await storedBytes(stack, String(first.body['contextId']))), sha256(archive));
    });
    test('the same key with a different body or name is 422 and stores nothing', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(600_000);
        const headers = { 'idempotency-key': 'k-1', authorization: 'Bearer alice' };
        assert.equal((await put(stack, 'ctx.tar.gz', archive, headers)).status, 200);
        const altered = Buffer.from(archive);
        altered[300_000] ^= 0xff;
        for (const [name, body] of [['ctx.tar.gz', altered], ['other.tar.gz', archive], ['ctx.tar.gz', archive.subarray(0, 500_000)]]) {
            const result = await put(stack, name, body, headers);
            assert.equal(result.status, 422, JSON.stringify(result.body));
            assert.equal(result.body['code'], 9);
            assert.match(String(result.body['message']), /different upload/);
        }
        assert.equal(stack.observed.length, 1, 'the refused retries never reached the upstream');
    });
    test('the same key while the first upload is in flight is 409 before its body; the first still succeeds', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(2 * 524288);
        const headers = { 'idempotency-key': 'slow-one', authorization: 'Bearer alice' };
        let release;
        const gate = new Promise((resolve) => { release = resolve; });
        const slowBody = Readable.from((async function* () {
            yield archive.subarray(0, 1000);
            await gate;
            yield archive.subarray(1000);
        })());
        const first = put(stack, 'ctx.tar.gz', slowBody, headers);
        // The key is claimed as soon as the first request holds an upload slot.
        while (stack.app.uploadGate.inFlight === 0)
            await new Promise((resolve) => setTimeout(resolve, 5));
        const second = await put(stack, 'ctx.tar.gz', archive, headers);
        assert.equal(second.status, 409, JSON.stringify(second.body));
        assert.equal(second.body['code'], 10);
        release();
        const done = await first;
        assert.equal(done.status, 200, JSON.stringify(done.body));
        // Afterwards the key replays.
        assert.deepEqual((await put(stack, 'ctx.tar.gz', archive, headers)).body, done.body);
        assert.equal(stored(stack), 1);
    });
    test('a failed first attempt lets the retry run for real', async (t) => {
        const stack = await startStack(t);
        const headers = { 'idempotency-key': 'retry-me', authorization: 'Bearer alice' };
        const notArchive = await put(stack, 'ctx.tar.gz', Buffer.from('plain text, not an archive'), headers);
        assert.equal(notArchive.status, 415);
        const archive = gzipLike(4096);
        const retry = await put(stack, 'ctx.tar.gz', archive, headers);
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.equal(retry.headers['idempotent-replayed'], undefined);
        assert.equal(stored(stack), 1);
    });
    test('keys are scoped to the credential: another token, or a signed caller, gets its own upload', async (t) => {
        const secret = 'scope-secret';
        const stack = await startStack(t, { config: { webhookSecret: secret, serviceToken: 'svc' } });
        const archive = gzipLike(4096);
        const key = { 'idempotency-key': 'shared-name' };
        const alice = await put(stack, 'ctx.tar.gz', archive, { ...key, authorization: 'Bearer alice' });
        const bob = await put(stack, 'ctx.tar.gz', archive, { ...key, authorization: 'Bearer bob' });
        const signed = await put(stack, 'ctx.tar.gz', archive, { ...key, ...signatureHeaders(secret, archive) });
        const signedAgain = await put(stack, 'ctx.tar.gz', archive, { ...key, ...signatureHeaders(secret, archive) });
        for (const r of [alice, bob, signed, signedAgain])
            assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.notEqual(alice.body['contextId'], bob.body['contextId']);
        assert.notEqual(bob.body['contextId'], signed.body['contextId']);
        assert.equal(signedAgain.body['contextId'], signed.body['contextId']);
        assert.equal(stored(stack), 3);
    });
    test('a replay still checks the signature: a bad one is 401', async (t) => {
        const secret = 'replay-secret';
        const stack = await startStack(t, { config: { webhookSecret: secret } });
        const archive = gzipLike(4096);
        const key = { 'idempotency-key': 'signed-key' };
        assert.equal((await put(stack, 'ctx.tar.gz', archive, { ...key, ...signatureHeaders(secret, archive) })).status, 200);
        const forged = await put(stack, 'ctx.tar.gz', archive, { ...key, ...signatureHeaders('guess', archive) });
        assert.equal(forged.status, 401);
        assert.equal(forged.body['code'], 16);
    });
    test('a forged signature cannot hold a signed caller\'s key: the real delivery still goes through', async (t) => {
        const secret = 'squat-secret';
        const stack = await startStack(t, { config: { webhookSecret: secret, serviceToken: 'svc' } });
        const archive = gzipLike(600_000);
        const key = { 'idempotency-key': 'delivery-123' };
        // The forger knows the delivery id, not the secret, and keeps its upload open.
        const trickle = new PassThrough();
        const forged = put(stack, 'ctx.tar.gz', trickle, { ...key, ...signatureHeaders('guess', archive) });
        trickle.write(archive.subarray(0, 100_000));
        // The premise: the forged upload got past its admission and streams to the upstream (its call is open there).
        await eventually(() => stack.opened.length === 1, 'the forged upload\'s call is open upstream');
        const real = await put(stack, 'ctx.tar.gz', archive, { ...key, ...signatureHeaders(secret, archive) });
        assert.equal(real.status, 200, JSON.stringify(real.body));
        trickle.end(archive.subarray(100_000));
        const refused = await forged;
        assert.equal(refused.status, 401);
        const retry = await put(stack, 'ctx.tar.gz', archive, { ...key, ...signatureHeaders(secret, archive) });
        assert.equal(retry.body['contextId'], real.body['contextId']);
        assert.equal(stored(stack), 1);
    });
    test('a malformed key is 400 before the body', async (t) => {
        const stack = await startStack(t);
        const result = await put(stack, 'ctx.tar.gz', gzipLike(100), { 'idempotency-key': 'x'.repeat(256) });
        assert.equal(result.status, 400);
        assert.equal(result.body['code'], 3);
        assert.equal(stack.observed.length, 0);
    });
});
describe('Idempotency-Key claims', () => {
    test('a claim is renewed while its upload progresses: a retry long after the lease still gets 409, not a second upload', async (t) => {
        // UPLOAD_IDLE_TIMEOUT_MS 1000 makes the claim's lease 1 s; the upload below takes about 3 s.
        const stack = await startStack(t, { config: { uploadIdleTimeoutMs: 1000 } });
        const archive = gzipLike(10 * 100_000);
        const headers = { 'idempotency-key': 'long-one', authorization: 'Bearer alice' };
        const trickle = new PassThrough();
        const first = put(stack, 'ctx.tar.gz', trickle, headers);
        for (let i = 0; i < 7; i++) {
            trickle.write(archive.subarray(i * 100_000, (i + 1) * 100_000));
            await new Promise((resolve) => setTimeout(resolve, 400));
        }
        const retry = await put(stack, 'ctx.tar.gz', archive, headers);
        assert.equal(retry.status, 409, JSON.stringify(retry.body));
        trickle.end(archive.subarray(700_000));
        const done = await first;
        assert.equal(done.status, 200, JSON.stringify(done.body));
        assert.equal(stored(stack), 1);
    });
    test('a success whose record cannot be written is still answered 200, and counted', async (t) => {
        class UnwritableStore extends MemoryIdempotencyStore {
            async complete() {
                throw new Error('the store is down');
            }
        }
        const stack = await startStack(t, { idempotencyStore: new UnwritableStore(60_000, 100) });
        const archive = gzipLike(4096);
        const result = await put(stack, 'ctx.tar.gz', archive, { 'idempotency-key': 'unrecorded', authorization: 'Bearer alice' });
        assert.equal(result.status, 200, JSON.stringify(result.body));
        assert.equal(stored(stack), 1);
        const metrics = await (await request(`${stack.baseUrl}/metrics`)).body.text();
        assert.match(metrics, /^ignite_bridge_idempotency_record_failures_total 1$/m);
    });
});
describe('MemoryIdempotencyStore', () => {
    storeContract((clock) => new MemoryIdempotencyStore(TTL_MS, 1000, clock.now));
    test('keeps at most maxKeys finished keys, the oldest forgotten first, never a held claim', async () => {
        const store = new MemoryIdempotencyStore(60_000, 2);
        const record = { fingerprint: 'f', response: { contextId: 'ctx_A', sizeBytes: '1' } };
        for (const key of ['b', 'c']) {
            const claim = await store.claim(key, 60_000);
            assert.equal(claim.state, 'claimed');
            assert.ok(await store.complete(key, claim.token, record));
        }
        assert.equal((await store.claim('d', 60_000)).state, 'claimed');
        assert.equal(store.size, 2, 'the oldest completed key (b) was forgotten');
        assert.equal((await store.peek('b')).state, 'free');
        assert.equal((await store.peek('c')).state, 'done');
        assert.equal((await store.claim('e', 60_000)).state, 'claimed');
        assert.equal((await store.peek('d')).state, 'in-flight', 'held claims survive eviction');
    });
    test('"sent" and "unknown" keys are never forgotten by count, only by time; "sent" reads awaiting and takes no renewal', async () => {
        let now = 0;
        const store = new MemoryIdempotencyStore(1000, 1, () => now, 5000);
        const token = async (key) => (await store.claim(key, 500)).token;
        const sent = await token('sent');
        assert.equal(await store.markSent('sent', sent), true);
        assert.equal(await store.renew('sent', sent, 500, 'in-flight'), false, 'a lease renewal never shortens "sent"');
        const lost = await token('lost');
        assert.equal(await store.markSent('lost', lost), true);
        assert.equal(await store.markUnknown('lost', lost), true);
        for (const key of ['x', 'y', 'z'])
            assert.equal(await store.complete(key, await token(key), { fingerprint: 'f', response: { contextId: 'ctx', sizeBytes: '1' } }), true);
        assert.deepEqual(await store.peek('sent'), { state: 'awaiting' });
        assert.deepEqual(await store.peek('lost'), { state: 'unknown' });
        assert.equal(await store.markSent('other', 'no-token'), false);
        now = 1500; // past the lease and the TTL of finished keys, within the sent time
        assert.deepEqual(await store.peek('sent'), { state: 'awaiting' });
        assert.deepEqual(await store.peek('lost'), { state: 'free' }, 'unknown lives its TTL');
        now = 5001;
        assert.deepEqual(await store.peek('sent'), { state: 'free' });
    });
});
//# sourceMappingURL=idempotency.test.js.map