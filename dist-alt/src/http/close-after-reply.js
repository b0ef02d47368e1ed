import { constants } from 'node:http2';
import { http2StreamOf } from './http2-request.js';
/** How long unread request bytes are discarded after an early reply before the socket is destroyed. */
export const LINGER_MS = 2000;
/**
 * For a reply sent before the request body was read: `Connection: close`, so
 * Node does not read (and discard) the rest of a multi-GB body to keep the
 * connection alive. Node would then destroy the socket as soon as its FIN is
 * out; with request bytes still arriving that becomes a TCP reset, which can
 * wipe the reply from the client's receive buffer before it reads it (a
 * client without `Expect: 100-continue`, e.g. wget, reads only once it has
 * written its body). So the input is discarded for a bounded time first, then
 * the socket is destroyed.
 */
export function closeAfterReply(req, res) {
    if (req.complete || res.headersSent)
        return;
    const stream = http2StreamOf(req);
    if (stream) {
        closeStreamAfterReply(stream, res);
        return;
    }
    res.setHeader('connection', 'close');
    res.once('finish', () => {
        const socket = req.socket;
        // Runs after Node's own finish handler, which scheduled socket.destroy on the socket's 'finish'.
        // eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called
        socket.removeListener('finish', socket.destroy);
        req.unpipe();
        // A 'data' listener keeps the request flowing even if a body iterator removes its own listener later.
        req.on('data', () => { });
        req.resume();
        lingerThenDestroy(socket);
    });
}
/**
 * Keeps reading (and dropping) what the client still sends after our reply
 * and FIN, until it closes or LINGER_MS pass; then destroys the socket.
 */
export function lingerThenDestroy(socket) {
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
}
/**
 * HTTP/2: other uploads may share the connection, so only this stream ends.
 * Once the reply is out, RST_STREAM(NO_ERROR) tells the client to stop
 * sending its body (RFC 9113 8.1) and drops what already arrived of it.
 */
function closeStreamAfterReply(stream, res) {
    res.once('finish', () => resetOnceSent(stream, Date.now() + LINGER_MS));
}
/**
 * 'finish' means the reply was handed to nghttp2, not that it was sent; and
 * nghttp2 sends control frames ahead of queued DATA, so an RST_STREAM now
 * could overtake the reply and the client would get nothing. The stream is
 * half-closed locally only once its END_STREAM frame was written out.
 */
function resetOnceSent(stream, deadline) {
    if (stream.closed || stream.destroyed)
        return;
    if (stream.state.localClose || Date.now() >= deadline) {
        stream.close(constants.NGHTTP2_NO_ERROR);
        return;
    }
    setTimeout(() => resetOnceSent(stream, deadline), 1).unref();
}
//# sourceMappingURL=close-after-reply.js.map