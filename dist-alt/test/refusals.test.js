import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { assertNothingStored, assertRefusal, gzipLike, markUpstream, multipartForm, startStack, warmUp } from './helpers.js';
async function send(url, options) {
    const res = await request(url, options);
    const body = (await res.body.json());
    assert.match(String(res.headers['content-type']), /^application\/json/);
    return { status: res.statusCode, code: body['code'], message: body['message'], body };
}
describe('bad input gets the contract error and stores nothing', () => {
    test('empty body', async (t) => {
        const stack = await startStack(t);
        assertRefusal(await send(`${stack.baseUrl}/v1/ignite/contexts/ctx.tar.gz`, { method: 'PUT', body: Buffer.alloc(0) }), 400, 3, /empty/);
        const form = multipartForm([{ name: 'file', filename: 'ctx.tar.gz', data: Buffer.alloc(0) }]);
        assertRefusal(await send(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', ...form }), 400, 3, /empty/);
        await assertNothingStored(stack);
    });
    test('non-archive bytes are 415 whatever Content-Type claims, before any gRPC call', async (t) => {
        const stack = await startStack(t);
        const html = Buffer.from('<!DOCTYPE html><html>not an archive</html>');
        for (const type of ['application/gzip', 'application/zip', 'application/octet-stream']) {
            const r = await send(`${stack.baseUrl}/v1/ignite/contexts?name=x.tar.gz`, { method: 'POST', body: html, headers: { 'content-type': type } });
            assertRefusal(r, 415, 3, /not a gzip or zip archive.*tar -cz/);
        }
        const form = multipartForm([{ name: 'file', filename: 'x.tar.gz', data: html }]);
        assertRefusal(await send(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', ...form }), 415, 3, /tar -cz/);
        assert.deepEqual(await assertNothingStored(stack), [], 'no gRPC call was opened');
    });
    test('raw POST without a name', async (t) => {
        const stack = await startStack(t);
        const r = await send(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: gzipLike(1000) });
        assertRefusal(r, 400, 3, /\?name=/);
        await assertNothingStored(stack);
    });
    test('PUT to /contexts/ with no name shows the fix', async (t) => {
        const stack = await startStack(t);
        for (const path of ['/v1/ignite/contexts/', '/v1/ignite/contexts']) {
            const r = await send(`${stack.baseUrl}${path}`, { method: 'PUT', body: gzipLike(1000) });
            assertRefusal(r, 400, 3, /\/contexts\/<name>/);
        }
        await assertNothingStored(stack);
    });
    test('multipart without a file part, with two file parts, with a field after the file', async (t) => {
        const stack = await startStack(t);
        const url = `${stack.baseUrl}/v1/ignite/contexts`;
        const file = { name: 'file', filename: 'a.tar.gz', data: gzipLike(700_000) };
        const cases = [
            ['no file part', [{ name: 'name', value: 'x.tar.gz' }], /no file part named "file"/],
            ['two file parts', [file, { ...file, filename: 'b.tar.gz' }], /second file part/],
            ['field after the file', [file, { name: 'name', value: 'late' }], /"name" comes after the file/],
            ['file part with another name', [{ ...file, name: 'upload' }], /named "upload", not "file"/],
        ];
        for (const [what, parts, message] of cases) {
            const r = await send(url, { method: 'POST', ...multipartForm(parts) });
            assertRefusal(r, 400, 3, message);
            assert.ok(r.status === 400, what);
        }
        await assertNothingStored(stack);
    });
    test('a truncated multipart body is never committed', async (t) => {
        const stack = await startStack(t);
        await warmUp(stack);
        const mark = await markUpstream(stack);
        // The file part's data is cut and the closing boundary never comes, although the request itself ends cleanly.
        const form = multipartForm([{ name: 'file', filename: 'a.tar.gz', data: gzipLike(1_500_000) }], { close: false });
        const r = await send(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form.body.subarray(0, 1_200_000), headers: form.headers });
        assertRefusal(r, 400, 3, /multipart/i);
        const calls = await assertNothingStored(stack, mark);
        assert.deepEqual(calls.map((c) => c.outcome), ['cancelled'], 'the one call opened was cancelled');
    });
    test('multipart Content-Type without a boundary', async (t) => {
        const stack = await startStack(t);
        const r = await send(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: gzipLike(1000), headers: { 'content-type': 'multipart/form-data' } });
        assertRefusal(r, 400, 3, /boundary/);
        await assertNothingStored(stack);
    });
    test('invalid names', async (t) => {
        const stack = await startStack(t);
        const long = 'a'.repeat(256);
        for (const name of [long, 'bad%0Aname', 'tab%09name']) {
            const r = await send(`${stack.baseUrl}/v1/ignite/contexts/${name}`, { method: 'PUT', body: gzipLike(1000) });
            assertRefusal(r, 400, 3, /Invalid context name/);
        }
        await assertNothingStored(stack);
    });
    test('unknown route is a 404 in the contract shape', async (t) => {
        const stack = await startStack(t);
        assertRefusal(await send(`${stack.baseUrl}/v1/nope`, { method: 'GET' }), 404, 5, /No route for GET \/v1\/nope/);
    });
});
//# sourceMappingURL=refusals.test.js.map