import { constants } from 'node:http2';
/**
 * The HTTP/2 stream a request arrived on, or undefined for HTTP/1. The app is
 * typed for HTTP/1; on HTTP/2 its requests are Node's `Http2ServerRequest`.
 */
export function http2StreamOf(request) {
    return request.httpVersionMajor === 2 ? request.stream : undefined;
}
/**
 * Whether a request carries a body. HTTP/1 frames one with Content-Length or
 * Transfer-Encoding; on HTTP/2 a body needs neither: the stream not ending
 * with its headers marks one (`endAfterHeaders`).
 */
export function hasRequestBody(request) {
    const { headers } = request;
    if (headers['transfer-encoding'] !== undefined)
        return true;
    const length = headers['content-length'];
    if (length !== undefined)
        return Number(length) > 0;
    const stream = http2StreamOf(request);
    return stream !== undefined && !stream.endAfterHeaders;
}
/**
 * Every body byte arrived. HTTP/2's `complete` is also true for a stream the
 * client reset mid-body, which is then `aborted`.
 */
export function bodyComplete(request) {
    return request.complete && !request.aborted;
}
/** Whether the client has gone, once its answer was handed to the transport. */
export function clientLeft(request) {
    const stream = http2StreamOf(request);
    // An HTTP/2 stream closes (is destroyed) after every answer: only a reset from the client tells.
    if (stream)
        return stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR;
    // The kernel takes the answer even from a client that left; its FIN (or reset) is what tells.
    const socket = request.socket;
    return socket.destroyed || socket.readableEnded;
}
//# sourceMappingURL=http2-request.js.map