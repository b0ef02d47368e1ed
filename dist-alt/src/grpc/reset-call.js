import { addAbortSignal } from 'node:stream';
import { status } from '@grpc/grpc-js';
/**
 * grpc-js cancels with Http2Stream.close(CANCEL), and Node ends the writable
 * side (END_STREAM) before it sends RST_STREAM: an upstream that commits on
 * end-of-stream would store the truncated archive as complete. Destroying the
 * HTTP/2 stream with an AbortError first sends RST_STREAM(CANCEL) without an
 * END_STREAM, so the upstream can only see a reset.
 */
export function resetCall(call, sentData) {
    const stream = findHttp2Stream(call);
    if (stream && !stream.destroyed) {
        const controller = new AbortController();
        // addAbortSignal destroys the stream with an AbortError, which Node maps to RST_STREAM code 8 (CANCEL).
        addAbortSignal(controller.signal, stream);
        controller.abort();
    }
    else if (!stream && sentData) {
        // Data went out, so a stream existed: grpc-js's layers changed shape and the cancel below may end the stream first.
        resetFallbacks++;
        if (resetFallbacks === 1) {
            process.emitWarning('could not find the HTTP/2 stream of a gRPC call to reset it; cancelling through grpc-js, which may send END_STREAM first. Pin @grpc/grpc-js to the version the bridge was tested with.', { code: 'IGNITE_RESET_FALLBACK' });
        }
    }
    if ('cancelWithStatus' in call)
        call.cancelWithStatus(status.CANCELLED, 'Cancelled on client');
    else
        call.cancel();
}
let resetFallbacks = 0;
/** Cancels that could not be sent as a bare reset (see resetCall), for the metrics. */
export function resetFallbackCount() {
    return resetFallbacks;
}
/** Walks grpc-js's call layers (client stream, interceptors, resolving, retrying, load-balancing, subchannel) down to its HTTP/2 stream. */
export function findHttp2Stream(call) {
    let layer = call;
    for (let depth = 0; layer && depth < 12; depth++) {
        if (layer.http2Stream)
            return layer.http2Stream;
        layer = layer.nextCall ?? layer.call ?? layer.child ?? layer.underlyingCalls?.at(-1)?.call;
    }
    return undefined;
}
//# sourceMappingURL=reset-call.js.map