import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Errors, type BridgeError } from '../errors.js';
import { LINGER_MS } from './close-after-reply.js';

interface InFlight {
  request: IncomingMessage;
  response: ServerResponse;
  fail: (error: BridgeError) => void;
}

/** Uploads in flight, by socket: a parse error in their body is theirs to answer. */
const uploadsBySocket = new WeakMap<Socket, InFlight>();
const answered = new WeakSet<Socket>();

/** While registered, a request Node's parser refuses on this socket ends this upload (if its body is not complete yet). */
export function routeParseErrors(request: IncomingMessage, response: ServerResponse, fail: (error: BridgeError) => void): () => void {
  const socket = request.socket;
  const entry = { request, response, fail };
  uploadsBySocket.set(socket, entry);
  return () => {
    if (uploadsBySocket.get(socket) === entry) uploadsBySocket.delete(socket);
  };
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
 * slow) is answered in the contract's error shape. In the middle of an
 * upload's body, the upload itself is failed (its call cancelled) and its own
 * error path answers. Once a response is under way on the socket, nothing
 * else is written: that response ends the connection.
 */
export function clientErrorHandler(onMalformed: (reply: BridgeError, err: NodeJS.ErrnoException) => void) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (socket.destroyed || answered.has(socket)) return;
    const reply = parseErrorReply(err);
    if (reply) onMalformed(reply, err);
    const upload = uploadsBySocket.get(socket);
    if (upload && !upload.request.complete) {
      answered.add(socket);
      upload.fail(reply ?? Errors.clientAborted());
      return;
    }
    // Node's own rule: a response already under way (or owed) on this socket cannot be followed by another.
    const current = upload?.response ?? (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    answered.add(socket);
    if (current) {
      if (!current.headersSent) current.setHeader('connection', 'close');
      if (current.writableFinished) socket.destroy();
      else current.once('close', () => socket.destroy());
    } else if (reply && socket.writable) {
      const body = JSON.stringify(reply.toStatus());
      socket.end(`HTTP/1.1 ${reply.httpStatus} ${statusText(reply.httpStatus)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
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
