import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants } from 'node:http2';
import type { Socket } from 'node:net';
import { http2StreamOf, type Http2Stream } from './http2-request.js';

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
export function closeAfterReply(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent) return;
  const stream = http2StreamOf(req);
  if (stream) {
    lingerThenReset(req, stream);
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
    req.on('data', () => {});
    req.resume();
    lingerThenDestroy(socket);
  });
}

/**
 * Keeps reading (and dropping) what the client still sends after our reply
 * and FIN, until it closes or LINGER_MS pass; then destroys the socket.
 */
export function lingerThenDestroy(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * HTTP/2: other uploads may share the connection, so only this stream ends.
 * Node itself resets (RST_STREAM NO_ERROR) a stream whose body was never
 * read as soon as its reply is queued; a client still sending its body
 * (curl sends END_STREAM after its last DATA) then fails without reading the
 * reply. So, as on HTTP/1, the rest of the body is read and dropped: a client
 * that ends its stream within LINGER_MS closes it cleanly; one still sending
 * after that is told to stop with RST_STREAM(NO_ERROR) (RFC 9113 8.1), by
 * then long after its reply went out.
 */
function lingerThenReset(req: IncomingMessage, stream: Http2Stream): void {
  req.unpipe();
  req.on('data', () => {});
  req.resume();
  const timer = setTimeout(() => {
    if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
  }, LINGER_MS);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}
