import { Agent, request } from 'undici';
import { archivePieces } from './payload.js';
/** One keep-alive connection per concurrent upload, as many as asked for. */
export const agent = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 30_000 });
const BOUNDARY = '----bench-boundary-7MA4YWxkTrZu0gW';
const MULTIPART_HEAD = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`);
const MULTIPART_TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
async function* body(size, mode, small) {
    if (mode === 'multipart')
        yield MULTIPART_HEAD;
    if (small)
        yield small;
    else
        yield* archivePieces(size);
    if (mode === 'multipart')
        yield MULTIPART_TAIL;
}
/**
 * Uploads `size` archive bytes (or the `small` buffer) the way curl would:
 * raw PUT with Content-Length, PUT with Transfer-Encoding: chunked, or a
 * multipart POST with Content-Length. Over a kept-alive connection of the
 * pool, or with `newConnection` over one opened for this request and closed.
 */
export async function httpUpload(baseUrl, mode, size, small, newConnection = false) {
    if (mode === 'resumable')
        return resumableUpload(baseUrl, size, small, newConnection);
    const headers = {};
    let length = small ? small.length : size;
    let url = `${baseUrl}/v1/ignite/contexts/bench.tar.gz`;
    let method = 'PUT';
    if (mode === 'multipart') {
        method = 'POST';
        url = `${baseUrl}/v1/ignite/contexts`;
        length += MULTIPART_HEAD.length + MULTIPART_TAIL.length;
        headers['content-type'] = `multipart/form-data; boundary=${BOUNDARY}`;
    }
    else {
        headers['content-type'] = 'application/gzip';
    }
    if (mode !== 'chunked')
        headers['content-length'] = String(length);
    try {
        const response = await request(url, {
            method,
            headers,
            // A small body goes as one buffer, the way a client holding it would send it.
            // undici streams an async iterable body (writeIterable) though request()'s types omit it.
            body: small && mode !== 'multipart' ? small : body(size, mode, small),
            dispatcher: agent,
            // A connection used for this request only (connect, upload, close), as a curl per request.
            reset: newConnection,
        });
        return await answered(response, small ? small.length : size);
    }
    catch (err) {
        return { ok: false, status: 0, error: String(err.message ?? err) };
    }
}
/** tus as tus-js-client sends a file it holds: a creation, then one PATCH with the whole archive. */
async function resumableUpload(baseUrl, size, small, newConnection) {
    const length = small ? small.length : size;
    const tus = { 'tus-resumable': '1.0.0' };
    try {
        const created = await request(`${baseUrl}/v1/ignite/uploads`, {
            method: 'POST',
            headers: { ...tus, 'upload-length': String(length), 'upload-metadata': `filename ${Buffer.from('bench.tar.gz').toString('base64')}` },
            dispatcher: agent,
            reset: newConnection,
        });
        const text = await created.body.text();
        if (created.statusCode !== 201)
            return { ok: false, status: created.statusCode, error: text.slice(0, 200) };
        const response = await request(new URL(String(created.headers['location']), baseUrl), {
            method: 'PATCH',
            headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(length) },
            body: small ?? body(size, 'raw'),
            dispatcher: agent,
            reset: newConnection,
        });
        return await answered(response, length);
    }
    catch (err) {
        return { ok: false, status: 0, error: String(err.message ?? err) };
    }
}
async function answered(response, expected) {
    const text = await response.body.text();
    if (response.statusCode !== 200)
        return { ok: false, status: response.statusCode, error: text.slice(0, 200) };
    const sizeBytes = JSON.parse(text).sizeBytes;
    if (sizeBytes !== String(expected))
        return { ok: false, status: 200, error: `sizeBytes ${sizeBytes}, sent ${expected}` };
    return { ok: true, status: 200 };
}
//# sourceMappingURL=http-uploads.js.map