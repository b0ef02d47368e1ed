import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertRefusal, gzipLike, startStack } from './helpers.js';
import { head, RawClient } from './raw-http.js';
const BODY_BYTES = 24 * 1024 * 1024;
/**
 * A client like wget: no `Expect: 100-continue`, writes its whole body and
 * only then reads. Its socket is paused meanwhile, so the reply waits in the
 * kernel's receive buffer, where a reset from the bridge would wipe it.
 */
async function sendAllThenRead(baseUrl, headers, body) {
    const client = await RawClient.connect(baseUrl);
    client.socket.pause();
    await client.write(head('PUT', '/v1/ignite/contexts/ctx.tar.gz', { 'content-length': body.length, ...headers }));
    // Paced (about half a second in all), as a real network would: the bridge must not reset the connection meanwhile.
    for (let offset = 0; offset < body.length; offset += 256 * 1024) {
        await client.write(body.subarray(offset, offset + 256 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    client.socket.resume();
    const response = await client.response(5000);
    client.destroy();
    return response;
}
describe('an early refusal reaches a client that sends its whole body before reading', () => {
    test('413 by Content-Length, before the body: the client still reads the JSON error after writing 24 MiB', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: 1_000_000 } });
        const response = await sendAllThenRead(stack.baseUrl, {}, gzipLike(BODY_BYTES));
        assertRefusal(response, 413, 3, /MAX_CONTEXT_BYTES/, 'CONTEXT_TOO_LARGE');
        assert.equal(response.headers['connection'], 'close');
    });
    test('415 on the first bytes, mid-body: the client still reads the JSON error after writing 24 MiB', async (t) => {
        const stack = await startStack(t);
        const response = await sendAllThenRead(stack.baseUrl, {}, Buffer.alloc(BODY_BYTES, 'not an archive '));
        assertRefusal(response, 415, 3, /not a gzip or zip archive/, 'NOT_AN_ARCHIVE');
        assert.equal(stack.opened.length, 0, 'no call was opened');
    });
});
//# sourceMappingURL=early-refusal.test.js.map