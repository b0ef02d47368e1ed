import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Errors, type BridgeError } from '../errors.js';
import { lingerThenDestroy } from './close-after-reply.js';

interface Reader {
  request: IncomingMessage;
  fail: (error: BridgeError) => void;
}

/** The request on each socket whose body a route is reading: a parse error in it is that route's to answer. */
const readers = new WeakMap<Socket, Reader>();
/** What Node's parser refused on a socket before any route was reading its request's body. */
const refused = new WeakMap<Socket, BridgeError>();
const answered = new WeakSet<Socket>();

/**
 * Calls `fail` once if Node's parser refuses the rest of this request's body
 * (bad chunk framing, or the client closing its side mid-body), also when it
 * already did before the route looked: the error can arrive in the same read
 * as the headers, before any route ran. Returns the unsubscribe.
 */
export function onParseError(request: IncomingMessage, fail: (error: BridgeError) => void): () => void {
  const socket = request.socket;
  const known = parseErrorOf(request);
  if (known) {
    fail(known);
    return () => {};
  }
  const reader = { request, fail };
  readers.set(socket, reader);
  return () => {
    if (readers.get(socket) === reader) readers.delete(socket);
  };
}

/** The parse error that already ended this request's body, if one did. */
export function parseErrorOf(request: IncomingMessage): BridgeError | undefined {
  // A request whose body completed is not the one the parser refused (a later, pipelined one is).
  return request.complete ? undefined : refused.get(request.socket);
}

/** What the client is told for an error of Node's HTTP parser; undefined when it is not one (the client closed, a socket error). */
export function parseErrorReply(err: NodeJS.ErrnoException): BridgeError | undefined {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return Errors.headersTimeout();
  if (err.code === 'HPE_HEADER_OVERFLOW') return Errors.headersTooLarge();
  if (err.code === 'HPE_INVALID_EOF_STATE' || !err.code?.startsWith('HPE_')) return undefined;
  return Errors.malformedHttp(describe(err));
}

/**
 * Fastify's clientErrorHandler: a request Node's parser refuses (bad chunk
 * framing, Content-Length with Transfer-Encoding, headers too large or too
 * slow) is answered in the contract's error shape. While a route reads the
 * body, that route is failed (an upload's call is cancelled) and answers;
 * before one does, the error is kept for the route to find (see
 * `onParseError` and the app's onRequest check), so the request never acts.
 * Once a response is under way on the socket, nothing else is written: that
 * response ends the connection.
 */
export function clientErrorHandler(onMalformed: (reply: BridgeError, err: NodeJS.ErrnoException) => void) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (socket.destroyed || answered.has(socket)) return;
    const reply = parseErrorReply(err);
    if (reply) onMalformed(reply, err);
    const error = reply ?? Errors.clientAborted();
    answered.add(socket);
    const reader = readers.get(socket);
    if (reader && !reader.request.complete) {
      reader.fail(error);
      return;
    }
    // Node's own rule: a response already under way (or owed) on this socket cannot be followed by another.
    const current = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (current && !current.headersSent && !current.req.complete) {
      // The route has not begun reading: it answers once it looks (before acting), on a connection that then closes.
      refused.set(socket, error);
      current.setHeader('connection', 'close');
      return;
    }
    if (current) {
      if (!current.headersSent) current.setHeader('connection', 'close');
      if (current.writableFinished) socket.destroy();
      else current.once('close', () => socket.destroy());
    } else if (reply && socket.writable) {
      const body = JSON.stringify(reply.toStatus());
      socket.end(`HTTP/1.1 ${reply.httpStatus} ${statusText(reply.httpStatus)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      lingerThenDestroy(socket);
    } else {
      socket.destroy();
    }
  };
}

function describe(err: NodeJS.ErrnoException & { reason?: string }): string {
  const reason = (err.reason ?? err.message).replace(/^Parse Error: /, '');
  return `${err.code ?? 'parse error'}: ${reason}`;
}

function statusText(status: number): string {
  return status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
}
