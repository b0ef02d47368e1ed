import type { Socket } from 'node:net';
import { Errors, type BridgeError } from '../errors.js';

/** How long a refused connection may still read our answer before it is destroyed. */
const LINGER_MS = 2000;

/** Uploads whose body is being read, by socket: a parse error in their body is theirs to answer. */
const uploadsBySocket = new WeakMap<Socket, (error: BridgeError) => void>();
const answered = new WeakSet<Socket>();

/** While `fail` is registered, a request Node's parser refuses on this socket ends that upload instead. */
export function routeParseErrors(socket: Socket, fail: (error: BridgeError) => void): () => void {
  uploadsBySocket.set(socket, fail);
  return () => {
    if (uploadsBySocket.get(socket) === fail) uploadsBySocket.delete(socket);
  };
}

/** What the client is told for an error of Node's HTTP parser, or undefined when it closed its end mid-request. */
export function parseErrorReply(err: NodeJS.ErrnoException): BridgeError | undefined {
  switch (err.code) {
    case 'HPE_INVALID_EOF_STATE': return undefined;
    case 'HPE_HEADER_OVERFLOW': return Errors.headersTooLarge();
    case 'ERR_HTTP_REQUEST_TIMEOUT': return Errors.headersTimeout();
    default: return Errors.malformedHttp(describe(err));
  }
}

/**
 * Fastify's clientErrorHandler: a request Node's parser refuses (bad chunk
 * framing, Content-Length with Transfer-Encoding, headers too large or too
 * slow) is answered in the contract's error shape. In the middle of an
 * upload's body, the upload itself is failed (its call cancelled) and its own
 * error path answers; no second response is ever written.
 */
export function clientErrorHandler(onMalformed: (reply: BridgeError, err: NodeJS.ErrnoException) => void) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    const reply = parseErrorReply(err);
    if (reply) onMalformed(reply, err);
    const upload = uploadsBySocket.get(socket);
    if (upload) {
      upload(reply ?? Errors.clientAborted());
      return;
    }
    // Node's own rule: a response already under way on this socket cannot be followed by another.
    const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (reply && socket.writable && !current?.headersSent) {
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
