import type { FastifyRequest } from 'fastify';
import { checkForwardable, type ForwardedHeaders } from '../upload/upload-target.js';

/**
 * The request headers that go upstream as gRPC metadata, refused (400) before
 * the body if metadata cannot carry them. `authorization` is what the caller's
 * admission decided (its own header, or the service token for a signed request).
 */
export function forwardedHeaders(request: FastifyRequest, authorization: string | undefined): ForwardedHeaders {
  const traceparent = request.headers.traceparent;
  return checkForwardable({
    authorization,
    'x-request-id': String(request.id),
    traceparent: typeof traceparent === 'string' ? traceparent : undefined,
  });
}
