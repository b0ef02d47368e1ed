import { constants } from 'node:http2';
/**
 * The HTTP/2 stream under a grpc-js server call: the server call wraps its
 * interceptors' calls (`nextCall`) around a base call holding `stream`.
 * grpc-js has no public way to it; undefined when its internals changed.
 */
export function findServerHttp2Stream(call) {
    let layer = call?.call;
    for (let depth = 0; layer && depth < 12; depth++) {
        if (isHttp2Stream(layer.stream))
            return layer.stream;
        layer = layer.nextCall ?? layer.call;
    }
    return undefined;
}
// node:http2 exports no Http2Stream class to test with instanceof.
function isHttp2Stream(value) {
    return typeof value === 'object' && value !== null && 'rstCode' in value && 'closed' in value && 'aborted' in value && 'session' in value;
}
/**
 * Whether a stream whose readable side just ended was reset rather than
 * half-closed. A client's half-close leaves the stream open for the answer;
 * a reset closes it, and Node marks it closed (with its RST code) before it
 * pushes the end of the readable side, so no later event needs waiting for.
 */
export function wasReset(stream) {
    return stream.closed || stream.destroyed || stream.aborted || stream.rstCode !== constants.NGHTTP2_NO_ERROR;
}
//# sourceMappingURL=call-stream.js.map