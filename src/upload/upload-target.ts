import { Errors } from '../errors.js';
import type { UploadMetadata, UploadResponse } from '../grpc/upload-messages.js';
import type { TraceSpan } from '../observability/tracing.js';

/** Request headers that travel with an upload to its target (gRPC metadata for the upstream). */
export type ForwardedHeaders = Partial<Record<'authorization' | 'x-request-id' | 'traceparent', string>>;

/** Throws the 400 for a header gRPC metadata cannot carry (printable ASCII only; grpc-js would throw deep inside). */
export function checkForwardable(headers: ForwardedHeaders): ForwardedHeaders {
  for (const [key, value] of Object.entries(headers)) {
    if (value && !/^[\x20-\x7e]*$/.test(value)) {
      throw Errors.malformedRequest(`The ${key} header contains characters that cannot be forwarded to the upstream (printable ASCII only).`);
    }
  }
  return headers;
}

/**
 * Where the upload pipeline sends an archive: the gRPC upstream, the hashing
 * sink of an idempotent replay, or a test's stand-in. The pipeline owns this
 * interface; targets implement it.
 */
export interface UploadTarget {
  /**
   * `parent`: the upload's span, which a target that makes a call traces it under (its traceparent replacing the request's).
   * `first`: the first chunk, sent with the metadata (a whole archive that fits one chunk), as if written.
   */
  open(metadata: UploadMetadata, headers: ForwardedHeaders, parent?: TraceSpan, first?: Buffer): OpenUpload;
  /** A buffer for `size` chunk bytes that the target can send without copying them (default: a plain buffer). */
  allocChunk?(size: number): Buffer;
}

/** One archive on its way to the target. */
export interface OpenUpload {
  /** Settles when the target answers, even early (an error while the body still streams); never unhandled. */
  readonly response: Promise<UploadResponse>;
  /**
   * Sends one chunk, which belongs to the target from here on. Undefined:
   * send the next one now; a promise: the target is behind, send nothing
   * more until it settles.
   */
  write(chunk: Buffer): Promise<void> | undefined;
  /** Half-closes (the archive is complete and checked) and waits for the answer. */
  commit(): Promise<UploadResponse>;
  /** Before the half-close: make sure nothing is kept. After it, too late: does nothing. */
  cancel(): void;
}
