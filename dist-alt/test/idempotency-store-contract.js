import assert from 'node:assert/strict';
import { test } from 'node:test';
/** The TTL of finished keys the contract's stores are built with. */
export const TTL_MS = 2000;
const LEASE_MS = 1000;
const record = (id) => ({ fingerprint: `f-${id}`, response: { contextId: `ctx_${id}`, sizeBytes: '7' } });
async function claimed(store, key, leaseMs = LEASE_MS) {
    const claim = await store.claim(key, leaseMs);
    assert.equal(claim.state, 'claimed');
    return claim.token;
}
/**
 * What every IdempotencyStore must do, whatever backs it: the memory store
 * and the shared (Redis) store both run these. `make` gets a clock; a store
 * that keeps real time advances it by sleeping.
 */
export function storeContract(make, realTime = false) {
    const clock = () => {
        let offset = 0;
        return realTime
            ? { now: Date.now, advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) }
            : { now: () => offset, advance: async (ms) => { offset += ms; } };
    };
    test('a claim is exclusive; the holder completes it and later claims replay its record', async () => {
        const store = await make(clock());
        const key = `k-${Math.random()}`;
        assert.deepEqual(await store.peek(key), { state: 'free' });
        const token = await claimed(store, key);
        assert.deepEqual(await store.claim(key, LEASE_MS), { state: 'in-flight' });
        assert.deepEqual(await store.peek(key), { state: 'in-flight' });
        assert.equal(await store.complete(key, 'not-the-token', record('x')), false, 'only the holder completes');
        assert.equal(await store.complete(key, token, record('A')), true);
        assert.deepEqual(await store.claim(key, LEASE_MS), { state: 'done', record: record('A') });
        assert.equal(await store.release(key, token), false, 'a finished key is not released');
        assert.deepEqual(await store.peek(key), { state: 'done', record: record('A') });
    });
    test('release frees the key for the holder only', async () => {
        const store = await make(clock());
        const key = `k-${Math.random()}`;
        const token = await claimed(store, key);
        assert.equal(await store.release(key, 'other'), false);
        assert.deepEqual(await store.peek(key), { state: 'in-flight' });
        assert.equal(await store.release(key, token), true);
        assert.deepEqual(await store.peek(key), { state: 'free' });
    });
    test('awaiting and unknown: a half-closed claim says so, and an unknown outcome is kept until the TTL', async () => {
        const c = clock();
        const store = await make(c);
        const key = `k-${Math.random()}`;
        const token = await claimed(store, key);
        assert.equal(await store.renew(key, token, LEASE_MS, 'awaiting'), true);
        assert.deepEqual(await store.claim(key, LEASE_MS), { state: 'awaiting' });
        assert.equal(await store.markUnknown(key, 'other'), false);
        assert.equal(await store.markUnknown(key, token), true);
        assert.deepEqual(await store.claim(key, LEASE_MS), { state: 'unknown' });
        await c.advance(TTL_MS + 200);
        assert.deepEqual(await store.peek(key), { state: 'free' }, 'forgotten after the TTL');
    });
    test('an unrenewed claim lapses; its old holder can then neither renew, complete nor release over a newer claim', async () => {
        const c = clock();
        const store = await make(c);
        const key = `k-${Math.random()}`;
        const stale = await claimed(store, key);
        await c.advance(LEASE_MS / 2);
        assert.equal(await store.renew(key, stale, LEASE_MS, 'in-flight'), true, 'renewed in time');
        await c.advance(LEASE_MS * 0.75);
        assert.deepEqual(await store.peek(key), { state: 'in-flight' }, 'the renewal extended it');
        await c.advance(LEASE_MS);
        assert.deepEqual(await store.peek(key), { state: 'free' }, 'lapsed');
        const fresh = await claimed(store, key);
        assert.equal(await store.renew(key, stale, LEASE_MS, 'in-flight'), false);
        assert.equal(await store.complete(key, stale, record('stale')), false);
        assert.equal(await store.release(key, stale), false);
        assert.equal(await store.markUnknown(key, stale), false);
        assert.deepEqual(await store.peek(key), { state: 'in-flight' });
        assert.equal(await store.complete(key, fresh, record('fresh')), true);
        assert.deepEqual(await store.peek(key), { state: 'done', record: record('fresh') });
    });
    test('a finished record expires after the TTL', async () => {
        const c = clock();
        const store = await make(c);
        const key = `k-${Math.random()}`;
        assert.equal(await store.complete(key, await claimed(store, key), record('B')), true);
        await c.advance(TTL_MS / 2);
        assert.equal((await store.peek(key)).state, 'done');
        await c.advance(TTL_MS);
        assert.equal((await store.claim(key, LEASE_MS)).state, 'claimed');
    });
    test('the build step: "build sent" by the holder\'s token reads awaiting; a build that did not start keeps a token a retry takes once; started and unknown keep none', async () => {
        const store = await make(clock());
        const key = `k-${Math.random()}`;
        const token = await claimed(store, key);
        assert.equal(await store.markSent(key, token), true);
        const context = record('build');
        assert.equal(await store.markBuildSent(key, 'not-the-token', { token, record: context }), false);
        assert.equal(await store.markBuildSent(key, token, { token, record: context }), true);
        assert.deepEqual(await store.peek(key), { state: 'awaiting' });
        assert.deepEqual(await store.claim(key, LEASE_MS), { state: 'awaiting' });
        const refused = { ...context, build: { kind: 'not-started', apiStatus: 500, message: 'no', details: [] } };
        assert.equal(await store.complete(key, token, refused), true);
        assert.deepEqual(await store.claim(key, LEASE_MS), { state: 'done', record: refused, token });
        // Two retries race for the build: the first compare-and-set wins, the second finds the token gone.
        assert.equal(await store.markBuildSent(key, token, { token: 'retry-1', record: context }), true);
        assert.equal(await store.markBuildSent(key, token, { token: 'retry-2', record: context }), false);
        assert.deepEqual(await store.peek(key), { state: 'awaiting' });
        const started = { ...context, build: { kind: 'started', json: '{"id":"bld_1"}', id: 'bld_1' } };
        assert.equal(await store.complete(key, 'retry-1', started), true);
        assert.deepEqual(await store.peek(key), { state: 'done', record: started });
        assert.equal(await store.markBuildSent(key, 'retry-1', { token: 'retry-3', record: context }), false, 'a started build is never sent again');
        const other = `k-${Math.random()}`;
        const held = await claimed(store, other);
        const unknown = { ...context, build: { kind: 'unknown', reason: 'timeout' } };
        assert.equal(await store.complete(other, held, unknown), true);
        assert.deepEqual(await store.peek(other), { state: 'done', record: unknown });
    });
}
//# sourceMappingURL=idempotency-store-contract.js.map