import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { catalogueCodes, documentedReasons } from './error-catalogue.js';
import { assertRefusal, gzipLike, startStack } from './helpers.js';
import { head, RawClient } from './raw-http.js';
import { createUpload, patchUpload, tusRequest, TUS, b64 } from './tus-client.js';

describe('google.rpc.ErrorInfo on every error', () => {
  test('every catalogue code is a documented reason in openapi.yaml', async () => {
    const documented = new Set(await documentedReasons());
    const codes = await catalogueCodes();
    assert.ok(codes.length > 60, `${codes.length} codes found`);
    assert.deepEqual(codes.filter((code) => !documented.has(code)), [], 'codes missing from the ErrorInfo reasons in openapi.yaml');
  });

  test('real answers over real sockets carry the reason and the facts to act on', async (t) => {
    const stack = await startStack(t, { config: { maxResumableUploads: 4 }, reference: { token: 'right' } });

    const notFound = await request(`${stack.baseUrl}/v1/ignite/nowhere`);
    assertRefusal({ status: notFound.statusCode, body: await notFound.body.text() }, 404, 5, /No route/, 'NOT_FOUND');

    // An upstream refusal: reasoned by the upstream's code.
    const upstream = await request(`${stack.baseUrl}/v1/ignite/contexts/ctx.tar.gz`, { method: 'PUT', body: gzipLike(1000), headers: { authorization: 'Bearer wrong' } });
    assertRefusal({ status: upstream.statusCode, body: await upstream.body.text() }, 401, 16, /UNAUTHENTICATED/, 'UPSTREAM_UNAUTHENTICATED');

    // The offset to go on from.
    const archive = gzipLike(2000);
    const auth = { authorization: 'Bearer right' };
    const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length), ...auth });
    assert.equal((await patchUpload(url, 0, archive.subarray(0, 1000), auth)).status, 204);
    const mismatch = await patchUpload(url, 5, archive.subarray(5), auth);
    const offsetInfo = assertRefusal(mismatch, 409, 9, /holds 1000 bytes/, 'UPLOAD_OFFSET_MISMATCH');
    assert.deepEqual(offsetInfo.metadata, { uploadOffset: '1000' });

    // When to come back, wherever Retry-After is sent (per-credential cap: a quarter of 4).
    const full = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, ...auth, 'upload-length': '10', 'upload-metadata': `filename ${b64('b.tar.gz')}` });
    const retryInfo = assertRefusal(full, 503, 14, /resumable uploads/, 'RESUMABLE_UPLOADS_FULL');
    assert.equal(full.headers['retry-after'], '5');
    assert.deepEqual(retryInfo.metadata, { retryAfterSeconds: '5' });

    // An answer written on the bare socket by the parser's error handler.
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(head('PUT', '/v1/ignite/contexts/ctx.tar.gz', { 'content-length': 10, 'x-padding': 'p'.repeat(20_000) }));
    assertRefusal(await client.response(), 431, 3, /headers are too large/, 'HEADERS_TOO_LARGE');
    client.destroy();
  });
});
