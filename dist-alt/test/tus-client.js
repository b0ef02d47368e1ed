import assert from 'node:assert/strict';
import { request } from 'undici';
/** Bare tus 1.0 requests over undici, for tests that drive the protocol by hand. */
export const TUS = { 'tus-resumable': '1.0.0' };
export const OCTETS = { ...TUS, 'content-type': 'application/offset+octet-stream' };
export const b64 = (text) => Buffer.from(text).toString('base64');
export async function tusRequest(url, method, headers, body) {
    const res = await request(url, { method: method, headers, body });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}
/** Creates an upload named ctx.tar.gz; answers its URL. */
export async function createUpload(baseUrl, headers) {
    const res = await tusRequest(`${baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, 'upload-metadata': `filename ${b64('ctx.tar.gz')}`, ...headers });
    assert.equal(res.status, 201, res.body);
    return `${baseUrl}${String(res.headers['location'])}`;
}
export const patchUpload = (url, offset, bytes, headers = {}) => tusRequest(url, 'PATCH', { ...OCTETS, 'upload-offset': String(offset), ...headers }, bytes);
/** HEAD's status and Upload-Offset. */
export async function headUpload(url) {
    const res = await tusRequest(url, 'HEAD', TUS);
    const offset = res.headers['upload-offset'];
    return { status: res.status, offset: offset === undefined ? undefined : Number(offset) };
}
//# sourceMappingURL=tus-client.js.map