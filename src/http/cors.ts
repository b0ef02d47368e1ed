import type { FastifyCorsOptions } from '@fastify/cors';

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
export function corsOptions(allowedOrigins: readonly string[]): FastifyCorsOptions {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return {
    origin: (origin, callback) => {
      if (origin === undefined) return callback(null, false);
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
