import type { Http2Stream } from 'node:http2';
import { addAbortSignal } from 'node:stream';
import type { ClientWritableStream } from '@grpc/grpc-js';

/**
 * grpc-js cancels with Http2Stream.close(CANCEL), and Node ends the writable
 * side (END_STREAM) before it sends RST_STREAM: an upstream that commits on
 * end-of-stream would store the truncated archive as complete. Destroying the
 * HTTP/2 stream with an AbortError first sends RST_STREAM(CANCEL) without an
 * END_STREAM, so the upstream can only see a reset.
 */
export function resetCall<T>(call: ClientWritableStream<T>): void {
  const stream = findHttp2Stream(call);
  if (stream && !stream.destroyed) {
    const controller = new AbortController();
    // addAbortSignal destroys the stream with an AbortError, which Node maps to RST_STREAM code 8 (CANCEL).
    addAbortSignal(controller.signal, stream);
    controller.abort();
  }
  call.cancel();
}

interface CallLayer {
  http2Stream?: Http2Stream;
  nextCall?: CallLayer;
  call?: CallLayer;
  child?: CallLayer | null;
  underlyingCalls?: Array<{ call?: CallLayer }>;
}

/** Walks grpc-js's call layers (interceptors, resolving, retrying, load-balancing, subchannel) down to its HTTP/2 stream. */
function findHttp2Stream(call: unknown): Http2Stream | undefined {
  let layer = (call as CallLayer).call;
  for (let depth = 0; layer && depth < 12; depth++) {
    if (layer.http2Stream) return layer.http2Stream;
    layer = layer.nextCall ?? layer.call ?? layer.child ?? layer.underlyingCalls?.at(-1)?.call;
  }
  return undefined;
}
