/** Request headers a page on another origin may send with an upload. */
export const CORS_ALLOWED_HEADERS = [
    'Authorization',
    'Content-Type',
    'Content-Digest',
    'Repr-Digest',
    'Want-Repr-Digest',
    'Want-Content-Digest',
    'Content-Disposition',
    'X-Request-Id',
    'Idempotency-Key',
    'X-Signature-256',
    'X-Signature-Timestamp',
    'traceparent',
    // Resumable uploads (tus):
    'Tus-Resumable',
    'Upload-Length',
    'Upload-Offset',
    'Upload-Metadata',
    'Upload-Defer-Length',
    'Upload-Concat',
    'X-HTTP-Method-Override',
];
/** Response headers such a page may read (the others stay hidden from its script). */
export const CORS_EXPOSED_HEADERS = [
    'Repr-Digest', 'X-Request-Id', 'Retry-After',
    'Location', 'Upload-Offset', 'Upload-Length', 'Upload-Expires', 'Upload-Metadata', 'Upload-Defer-Length',
    'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Ignite-Context-Id', 'Ignite-Size-Bytes', 'Ignite-Build-Id', 'Ignite-Build-State', 'Ignite-Build-Error',
];
/**
 * @fastify/cors options for CORS_ALLOWED_ORIGINS. A disallowed origin resolves
 * to `false`, which makes the plugin add no CORS header at all (an array of
 * origins would still send the method/header lists) and leaves its preflight
 * to the 404 handler, so the browser blocks the request before any body is sent.
 */
export function corsOptions(allowedOrigins) {
    const any = allowedOrigins.includes('*');
    const allowed = new Set(allowedOrigins);
    return {
        origin: (origin, callback) => {
            if (origin === undefined)
                return callback(null, false);
            callback(null, any ? '*' : allowed.has(origin) ? origin : false);
        },
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        allowedHeaders: CORS_ALLOWED_HEADERS,
        exposedHeaders: CORS_EXPOSED_HEADERS,
        // A bearer token travels in a header, not in cookies: no credentialed requests.
        credentials: false,
        maxAge: 600,
        strictPreflight: true,
    };
}
/** How many refused origins are remembered (and logged once each): a flood of made-up origins stays bounded. */
export const REFUSED_ORIGINS_LOGGED = 1000;
/**
 * An onRequest hook that logs, once per origin, a cross-origin request CORS_ALLOWED_ORIGINS does
 * not allow: the browser only tells its page "network error", so the operator's log must say which
 * origin was refused and against which list. The page's own origin needs no CORS and is not logged.
 */
export function logRefusedOrigins(allowedOrigins, cap = REFUSED_ORIGINS_LOGGED) {
    const any = allowedOrigins.includes('*');
    const allowed = new Set(allowedOrigins);
    const logged = new Set();
    let full = false;
    return (request) => {
        const origin = request.headers.origin;
        if (origin === undefined || any || allowed.has(origin) || logged.has(origin) || full)
            return;
        if (sameOrigin(origin, request.host))
            return;
        if (logged.size >= cap) {
            full = true;
            request.log.info({ origin, refusedOriginsLogged: cap }, `CORS: ${cap} refused origins were logged; further ones are not`);
            return;
        }
        logged.add(origin);
        const list = allowedOrigins.length > 0 ? allowedOrigins.join(',') : '(empty: CORS is off)';
        request.log.info({ origin, method: request.method, corsAllowedOrigins: [...allowedOrigins] }, `CORS: origin ${origin} is not in CORS_ALLOWED_ORIGINS=${list}, so browsers block its pages' uploads (they report a network error); add it to CORS_ALLOWED_ORIGINS to allow them. Logged once per origin.`);
    };
}
function sameOrigin(origin, host) {
    try {
        const url = new URL(origin);
        // Through URL both sides drop the scheme's default port: http://h and Host: h:80 are one origin.
        return url.host === new URL(`${url.protocol}//${host}`).host;
    }
    catch {
        return false;
    }
}
//# sourceMappingURL=cors.js.map