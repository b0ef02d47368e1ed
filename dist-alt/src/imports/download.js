import { request as httpRequest, STATUS_CODES } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Errors } from '../errors.js';
import { checkTarget, describeUrl } from './resolve-target.js';
export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** How much of an error answer's body is quoted back to the caller. */
const ERROR_SNIPPET_BYTES = 300;
/**
 * GETs the archive, following at most MAX_REDIRECTS redirects by hand so
 * each hop is checked exactly like the first. Every connection is pinned to
 * the addresses that were checked: the socket's lookup is replaced, so a
 * second DNS answer (rebinding) can never redirect the socket.
 *
 * node:http, not undici: undici 7 kills the process (an assertion in its
 * parser, nodejs/undici#5360) when a body that ends with the connection
 * sees the FIN while its reader is paused, which the bridge's backpressure
 * does all the time. node:http stops reading the socket instead, and sees
 * the FIN once the body is read.
 */
export async function openDownload(first, userHeaders, policy, signal) {
    let target = first;
    let headers = userHeaders;
    for (let hop = 0;; hop++) {
        const { res, close } = await get(target, headers, signal);
        const status = res.statusCode ?? 0;
        if (REDIRECT_STATUSES.has(status)) {
            const location = res.headers.location;
            close();
            if (typeof location !== 'string')
                throw Errors.importSourceFailed(`${describeUrl(target.url)} answered ${status} without a Location`);
            if (hop >= MAX_REDIRECTS)
                throw Errors.importSourceFailed(`${describeUrl(first.url)} redirected more than ${MAX_REDIRECTS} times`);
            let next;
            try {
                next = new URL(location, target.url);
            }
            catch {
                throw Errors.importSourceFailed(`${describeUrl(target.url)} redirected to an invalid URL`);
            }
            if (next.protocol !== 'https:' && !(next.protocol === 'http:' && policy.allowHttp)) {
                throw Errors.importRefused(`${describeUrl(target.url)} redirected to a ${next.protocol} URL, which is not allowed`);
            }
            // Credentials meant for one origin must never travel to another.
            if (next.origin !== target.url.origin)
                headers = {};
            next.hash = '';
            target = await checkTarget(next, policy, target.url);
            continue;
        }
        if (status < 200 || status >= 300) {
            const snippet = await errorSnippet(res);
            close();
            throw Errors.importSourceFailed(`GET ${describeUrl(target.url)} answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + (snippet ? `: ${snippet}` : ''));
        }
        const length = res.headers['content-length'];
        const contentLength = typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : undefined;
        return {
            body: res,
            contentLength,
            lengthKnown: contentLength !== undefined || endsChunked(res.headers['transfer-encoding']),
            url: target.url,
            close,
        };
    }
}
/**
 * One GET on its own connection (no agent to keep it alive: `Connection:
 * close`), resolved with the response head. A body cut short before its
 * framed end (Content-Length, chunked) fails: the response is destroyed with
 * an 'aborted' error, never ended; one with no framing ends with the
 * connection. `close` destroys the connection.
 */
function get(target, headers, signal) {
    const { url } = target;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const failed = (err) => signal.aborted ? signal.reason : Errors.importSourceFailed(`GET ${describeUrl(url)} failed: ${describeError(err)}`);
    if (signal.aborted)
        return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
        let req;
        try {
            req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
                method: 'GET',
                // The archive is stored as the bytes arrive: no transfer compression on top of it.
                headers: { 'user-agent': 'ignite-upload-bridge', ...headers, 'accept-encoding': 'identity' },
                agent: false,
                lookup: pinnedLookup(target.addresses),
                // Certificates are checked against the URL's host name, not the pinned address (an IP literal sends no SNI).
                servername: isIP(host) ? undefined : host,
                // Aborting destroys the request, and the response with it once it came.
                signal,
            });
        }
        catch (err) {
            // A header value node refuses to send (e.g. a character beyond Latin-1).
            reject(failed(err));
            return;
        }
        const close = () => req.destroy();
        let answered = false;
        req.on('error', (err) => {
            // A reset after the head reaches the request too; what it means for the body, the body's own events say.
            if (answered)
                return;
            close();
            reject(failed(err));
        });
        req.once('response', (res) => {
            answered = true;
            // The reader attaches its own listeners later; an error before that must not be uncaught (the body is then destroyed, which the reader sees).
            res.on('error', () => { });
            resolve({ res, close });
        });
        req.end();
    });
}
/**
 * llhttp (node's parser) decodes chunked framing whenever it is the final
 * transfer coding, whatever the HTTP version; any other final coding is read until
 * the connection closes (RFC 9112, section 6.3).
 */
function endsChunked(header) {
    const codings = [header ?? []].flat().join(',').split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
    return codings.at(-1) === 'chunked';
}
/** Node 20 calls a socket's lookup with `{all: true}` (autoSelectFamily); older paths expect one address. */
function pinnedLookup(addresses) {
    return ((_hostname, options, callback) => {
        if (options?.all)
            callback(null, addresses);
        else
            callback(null, addresses[0].address, addresses[0].family);
    });
}
async function errorSnippet(body) {
    let text = '';
    try {
        for await (const piece of body) {
            text += piece.toString('utf8');
            if (text.length >= ERROR_SNIPPET_BYTES)
                break;
        }
    }
    catch {
        // The status says enough.
    }
    body.destroy();
    return text.replace(/\s+/g, ' ').trim().slice(0, ERROR_SNIPPET_BYTES);
}
function describeError(err) {
    const e = err;
    const inner = e.cause ?? e;
    const code = inner.code ?? e.code;
    return `${code ? `${code}: ` : ''}${inner.message ?? e.message ?? String(err)}`;
}
//# sourceMappingURL=download.js.map