import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataDirEntries, gzipLike, startStack } from './helpers.js';
import { chunked, eventually, head as requestHead, pieces, RawClient } from './raw-http.js';
const KiB = 1024;
const MiB = 1024 * KiB;
const ROUNDS = 500;
const TOKEN = 'soak-token';
const KINDS = ['success', 'client abort', 'upstream error', 'idle timeout', 'over limit'];
/** One upload of the given kind on its own connection; resolves with the status the client saw (0 for an abort). */
async function uploadOnce(stack, kind, i) {
    const client = await RawClient.connect(stack.baseUrl);
    const head = (method, path, headers, authorized = true) => requestHead(method, path, authorized ? { ...headers, authorization: `Bearer ${TOKEN}` } : headers);
    try {
        const path = `/v1/ignite/contexts/soak-${i}.tar.gz`;
        switch (kind) {
            case 'success': {
                const archive = gzipLike(20 * KiB + i);
                await client.write(Buffer.concat([Buffer.from(head('PUT', path, { 'content-length': archive.length })), archive]));
                break;
            }
            case 'client abort': {
                await client.write(head('PUT', path, { 'transfer-encoding': 'chunked' }));
                await client.write(chunked([gzipLike(600 * KiB)]).subarray(0, 600 * KiB));
                await eventually(() => stack.app.uploadGate.inFlight === 1, 'the upload is in flight');
                client.destroy();
                await eventually(() => stack.app.uploadGate.inFlight === 0, 'the aborted upload released its slot');
                return 0;
            }
            case 'upstream error': {
                // No bearer token: the reference upstream ends the call with UNAUTHENTICATED as soon as it starts.
                const archive = gzipLike(MiB);
                await client.write(head('PUT', path, { 'content-length': archive.length }, false));
                await client.sendUntilAnswered(pieces(archive, [64 * KiB]));
                break;
            }
            case 'idle timeout': {
                await client.write(head('PUT', path, { 'content-length': 100 * KiB }));
                await client.write(gzipLike(10 * KiB));
                break;
            }
            case 'over limit': {
                // Every other one chunked, so only the byte count catches it; the others by Content-Length.
                const archive = gzipLike(1536 * KiB);
                if (i % 2) {
                    await client.write(head('PUT', path, { 'transfer-encoding': 'chunked' }));
                    await client.sendUntilAnswered(pieces(chunked([archive]), [256 * KiB]));
                }
                else {
                    await client.write(head('PUT', path, { 'content-length': archive.length }));
                }
                break;
            }
        }
        return (await client.response()).status;
    }
    finally {
        client.destroy();
    }
}
const EXPECTED = {
    success: 200,
    'client abort': 0,
    'upstream error': 401,
    'idle timeout': 408,
    'over limit': 413,
};
function resourceCounts() {
    const counts = {};
    for (const kind of process.getActiveResourcesInfo())
        counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
}
function listenerCounts(stack) {
    const server = stack.app.server;
    return Object.fromEntries(server.eventNames().map((name) => [String(name), server.listenerCount(name)]));
}
test(`${ROUNDS} mixed uploads in a row leave no upload in flight, no temp file, no leaked handle or listener`, async (t) => {
    const stack = await startStack(t, {
        config: { maxContextBytes: 1280 * KiB, uploadIdleTimeoutMs: 150 },
        reference: { token: TOKEN },
    });
    // Warm up: the gRPC channel and the server's first connection exist before the baseline.
    assert.equal(await uploadOnce(stack, 'success', -1), 200);
    await new Promise((r) => setTimeout(r, 100));
    const resourcesBefore = resourceCounts();
    const listenersBefore = listenerCounts(stack);
    const processListenersBefore = process.eventNames().map((name) => `${String(name)}:${process.listenerCount(name)}`).sort();
    const seen = { success: 0, 'client abort': 0, 'upstream error': 0, 'idle timeout': 0, 'over limit': 0 };
    for (let i = 0; i < ROUNDS; i++) {
        const kind = KINDS[i % KINDS.length];
        const status = await uploadOnce(stack, kind, i);
        assert.equal(status, EXPECTED[kind], `round ${i} (${kind})`);
        seen[kind]++;
    }
    assert.deepEqual(Object.values(seen), KINDS.map(() => ROUNDS / KINDS.length));
    assert.equal(stack.app.uploadGate.inFlight, 0);
    await eventually(async () => !(await dataDirEntries(stack)).some((entry) => entry.startsWith('.incoming-')), 'no temp file is left', 10_000);
    const stored = (await dataDirEntries(stack)).filter((entry) => !entry.endsWith('.json'));
    assert.equal(stored.length, 1 + ROUNDS / KINDS.length, 'only the successful uploads are stored');
    // Sockets of early refusals linger up to 2 s discarding input before they are destroyed.
    await eventually(() => {
        const now = resourceCounts();
        return Object.keys({ ...now, ...resourcesBefore }).every((kind) => (now[kind] ?? 0) <= (resourcesBefore[kind] ?? 0));
    }, `the active resources return to ${JSON.stringify(resourcesBefore)} (now ${JSON.stringify(resourceCounts())})`, 10_000);
    assert.deepEqual(listenerCounts(stack), listenersBefore);
    assert.deepEqual(process.eventNames().map((name) => `${String(name)}:${process.listenerCount(name)}`).sort(), processListenersBefore);
    assert.equal(stack.app.server.listenerCount('request'), listenersBefore['request']);
});
//# sourceMappingURL=soak.test.js.map