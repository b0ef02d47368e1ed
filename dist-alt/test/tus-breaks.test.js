import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { assertRefusal, gzipLike, startStack, storedBytes, warmUp } from './helpers.js';
import { eventually, head, RawClient } from './raw-http.js';
import { createUpload, headUpload, patchUpload, TUS, tusRequest } from './tus-client.js';
async function inFlight(stack) {
    const res = await request(`${stack.baseUrl}/readyz`);
    return (await res.body.json()).uploadsInFlight;
}
/** Starts a PATCH for the rest of the upload from `offset` on a bare socket and sends `sent` bytes of it. */
async function openPatch(stack, url, archive, offset, sent, headers = {}) {
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(head('PATCH', new URL(url).pathname, {
        ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': offset, 'content-length': archive.length - offset, ...headers,
    }));
    await client.write(archive.subarray(offset, offset + sent));
    await eventually(async () => await inFlight(stack) === 1, 'the PATCH holds an upload slot');
    return client;
}
describe('tus: a PATCH that breaks', () => {
    for (const how of ['closes', 'resets']) {
        test(`a client that ${how} its connection mid-PATCH pauses the upload at once: the slot is free within 1 s, HEAD tells the offset, and the upload resumes to the right bytes`, async (t) => {
            const stack = await startStack(t);
            await warmUp(stack);
            const archive = gzipLike(1_500_000);
            const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length) });
            const client = await openPatch(stack, url, archive, 0, 700_000);
            if (how === 'resets')
                client.socket.resetAndDestroy();
            else
                client.destroy();
            // UPLOAD_IDLE_TIMEOUT_MS is 30 s: only a break seen at once frees the slot this soon.
            await eventually(async () => await inFlight(stack) === 0, 'the PATCH released its upload slot', 1000);
            const { status, offset } = await headUpload(url);
            assert.equal(status, 200);
            assert.ok(offset !== undefined && offset > 0 && offset <= 700_000, `offset ${offset}`);
            const rest = await patchUpload(url, offset, archive.subarray(offset));
            assert.equal(rest.status, 200, rest.body);
            const { contextId } = JSON.parse(rest.body);
            assert.deepEqual(await storedBytes(stack, contextId), archive);
            assert.equal(stack.observed.at(-1).outcome, 'stored');
        });
    }
    test('a PATCH ended by a DELETE is told the upload was terminated, not that its bytes were kept', async (t) => {
        const stack = await startStack(t);
        await warmUp(stack);
        const archive = gzipLike(1_500_000);
        const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length) });
        const observed = stack.nextObservation();
        const client = await openPatch(stack, url, archive, 0, 700_000);
        const del = await tusRequest(url, 'DELETE', TUS);
        assert.equal(del.status, 204, del.body);
        const response = await client.response(3000);
        assertRefusal(response, 410, 5, /terminated \(DELETE\)/, 'UPLOAD_GONE');
        assert.doesNotMatch(response.json.message, /kept/);
        assert.equal((await observed).outcome, 'cancelled');
        client.destroy();
    });
    test('a deferred-length PATCH whose Content-Length cannot fit MAX_CONTEXT_BYTES is 413 instead of 100 Continue, and the upload is untouched', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: 1_000_000 } });
        const url = await createUpload(stack.baseUrl, { 'upload-defer-length': '1' });
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(head('PATCH', new URL(url).pathname, {
            ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': 0, 'content-length': 1_000_001, expect: '100-continue',
        }));
        assert.equal(await client.firstReply(), 413, 'refused before any body byte was asked for');
        assertRefusal(await client.response(), 413, 3, /MAX_CONTEXT_BYTES/, 'CONTEXT_TOO_LARGE');
        client.destroy();
        assert.deepEqual(await headUpload(url), { status: 200, offset: 0 });
    });
    test('the final PATCH\'s 504 says the archive was sent completely and to ask HEAD later, not to retry with an Idempotency-Key', async (t) => {
        const stack = await startStack(t, { config: { upstreamResponseTimeoutMs: 300 }, reference: { faults: { answerDelayMs: 1500 } } });
        const archive = gzipLike(100_000);
        const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length) });
        const final = await patchUpload(url, 0, archive);
        const info = assertRefusal(final, 504, 4, /sent completely.*HEAD/, 'UPLOAD_OUTCOME_PENDING');
        assert.doesNotMatch(JSON.parse(final.body).message, /Idempotency-Key/);
        assert.equal(final.headers['retry-after'], '5');
        assert.equal(info.metadata['retryAfterSeconds'], '5');
        await stack.nextObservation();
    });
});
//# sourceMappingURL=tus-breaks.test.js.map