import { Agent, request as send, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, type BridgeError } from '../errors.js';
import { onParseError } from '../http/client-error.js';
import { closeAfterReply } from '../http/close-after-reply.js';
import { bodyComplete, hasRequestBody } from '../http/http2-request.js';
import type { RecordOwner } from './resumable-records.js';
import { tracing } from '../observability/tracing.js';

/**
 * Marks a request one replica forwarded to the owner of an upload, naming
 * the owner process it was meant for: such a request is served by that
 * process from its own memory or refused, never forwarded again.
 */
export const OWNER_HOP_HEADER = 'ignite-upload-owner';

/** Connection-scoped headers (RFC 9110 7.6.1) and those the client sets itself: never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'expect', 'http2-settings']);

/** Failures to reach the owner at all: nothing listens there any more (it died, or its pod is gone). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EADDRNOTAVAIL', 'OWNER_CONNECT_TIMEOUT']);

export interface ForwardingTimes {
  /** Connecting to the owner: past this, the owner is taken as gone. */
  connectMs: number;
  /** The owner's silence during a PATCH (no answer, no body progress) before it is given up with a retryable 503. */
  answerMs: number;
  /** The same for HEAD and DELETE, which the owner answers at once. */
  quickAnswerMs: number;
}

/**
 * Passes a tus request on to the replica that owns the upload (node:http,
 * keep-alive) and its answer back unchanged: the PATCH body streams through
 * with backpressure, never buffered. Transparent for `Expect: 100-continue`:
 * the client is told 100 only when the owner says it, so a PATCH the owner
 * refuses costs the client no body bytes (undici can neither send `Expect`
 * nor relay a 100 over HTTP/1.1).
 */
export class OwnerForwarding {
  private readonly agent = new Agent({ keepAlive: true });

  constructor(private readonly times: ForwardingTimes) {}

  /**
   * Sends the reply with the owner's answer. An owner that cannot be reached
   * is gone (`gone` says what that means for the upload); one that broke off
   * is a 503 to retry, since the upload may still be there.
   */
  async forward(request: FastifyRequest, reply: FastifyReply, owner: RecordOwner, signal: AbortSignal, gone: (detail: string) => BridgeError): Promise<FastifyReply> {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name) && !name.startsWith(':')) headers[name] = value;
    }
    headers['x-request-id'] = String(request.id);
    // Traced, the owner's span is a child of this replica's (one traceparent, replacing the client's).
    if (tracing.on) headers['traceparent'] = tracing.current().traceparent;
    headers[OWNER_HOP_HEADER] = owner.instance;
    // A body this replica already read (a DELETE's, discarded first) is not passed on.
    const withBody = request.method !== 'HEAD' && hasRequestBody(request.raw) && !request.raw.readableEnded;
    if (!withBody) delete headers['content-length'];
    const waitsForContinue = withBody && request.headers.expect?.toLowerCase() === '100-continue';
    if (waitsForContinue) headers['expect'] = '100-continue';
    let answer: IncomingMessage;
    let out!: ClientRequest;
    // A body Node's parser refuses mid-way (bad chunk framing): the owner's request is cut, never completed, and our client gets the 400.
    let refused: BridgeError | undefined;
    const refusal = (): BridgeError | undefined => refused;
    const unroute = withBody ? onParseError(request.raw, (error) => {
      refused = error;
      out?.destroy(error);
    }) : () => {};
    if (refusal()) throw refusal()!;
    try {
      answer = await new Promise<IncomingMessage>((resolve, reject) => {
        out = send(new URL(request.url, owner.address), { method: request.method, headers, agent: this.agent, signal });
        out.once('response', resolve);
        out.once('error', reject);
        this.limitTimes(out, withBody);
        if (!withBody) out.end();
        else if (waitsForContinue) {
          out.once('continue', () => {
            reply.raw.writeContinue();
            passBody(request.raw, out);
          });
        } else passBody(request.raw, out);
      });
    } catch (err) {
      unroute();
      if (refusal()) throw refusal()!;
      if (signal.aborted) throw signal.reason;
      // Our client left mid-body: the owner saw its connection cut, which pauses the upload; nobody hears an answer.
      if (request.raw.destroyed) throw Errors.clientAborted();
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && UNREACHABLE.has(code)) throw gone(`(${owner.address}) cannot be reached (${code}): it stopped`);
      throw Errors.uploadOwnerUnreachable(err);
    }
    out.on('error', () => {});
    answer.once('close', unroute);
    // The owner answered before reading the whole body (a refusal): our client's body is not read to its end either.
    if (!out.writableFinished) {
      request.raw.unpipe(out);
      answer.once('end', () => out.destroy());
    }
    closeAfterReply(request.raw, reply.raw);
    reply.code(answer.statusCode ?? 502).headers(passedBack(answer.headers));
    if (request.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304) {
      answer.resume();
      return reply.send();
    }
    return reply.send(answer);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Connecting within connectMs (else the owner is taken as gone); then silence up to the answer time. */
  private limitTimes(out: ClientRequest, withBody: boolean): void {
    out.setTimeout(withBody ? this.times.answerMs : this.times.quickAnswerMs, () => {
      out.destroy(Object.assign(new Error('the owner replica did not answer in time'), { code: 'OWNER_SILENT' }));
    });
    out.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => {
        out.destroy(Object.assign(new Error(`no connection within ${this.times.connectMs} ms`), { code: 'OWNER_CONNECT_TIMEOUT' }));
      }, this.times.connectMs);
      socket.once('connect', () => clearTimeout(timer));
      out.once('close', () => clearTimeout(timer));
    });
  }
}

/** The client's body into the owner's request; a client that leaves mid-body cuts the owner's request in turn. */
function passBody(body: IncomingMessage, out: ClientRequest): void {
  // A client reset mid-body ends an HTTP/2 request too: the pipe must not pass that end on as the body's.
  body.once('aborted', () => out.destroy(Errors.clientAborted()));
  body.pipe(out);
  body.once('close', () => {
    if (!bodyComplete(body)) out.destroy(Errors.clientAborted());
  });
}

function passedBack(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    // The traceparent echo is this replica's own (the client's), never the hop's.
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'date' && name !== 'traceparent') kept[name] = value;
  }
  return kept;
}
