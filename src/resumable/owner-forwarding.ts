import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Agent, request as send } from 'undici';
import { Errors } from '../errors.js';
import { closeAfterReply } from '../http/close-after-reply.js';
import type { RecordOwner } from './resumable-records.js';

/**
 * Marks a request one replica forwarded to the owner of an upload, naming
 * the owner process it was meant for: such a request is served by that
 * process from its own memory or refused, never forwarded again.
 */
export const OWNER_HOP_HEADER = 'ignite-upload-owner';

/** Connection-scoped headers (RFC 9110 7.6.1) and those undici sets itself: never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'expect']);

/** Failures to reach the owner at all: nothing listens there any more (it died, or its pod is gone). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

export interface ForwardingTimes {
  /** Connecting to the owner: past this, the owner is taken as gone. */
  connectMs: number;
  /** The owner's silence during a PATCH (no answer, no body progress) before it is given up with a retryable 503. */
  answerMs: number;
  /** The same for HEAD and DELETE, which the owner answers at once. */
  quickAnswerMs: number;
}

/**
 * Passes a tus request on to the replica that owns the upload (undici,
 * keep-alive) and its answer back unchanged: the PATCH body streams
 * through with backpressure, never buffered.
 */
export class OwnerForwarding {
  private readonly agent: Agent;

  constructor(private readonly times: ForwardingTimes) {
    this.agent = new Agent({ connect: { timeout: times.connectMs } });
  }

  /**
   * Sends the reply with the owner's answer. An owner that cannot be reached
   * is gone (410: its call went with it); one that broke off is a 503 to
   * retry, since the upload may still be there.
   */
  async forward(request: FastifyRequest, reply: FastifyReply, owner: RecordOwner, signal: AbortSignal): Promise<FastifyReply> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers['x-request-id'] = String(request.id);
    headers[OWNER_HOP_HEADER] = owner.instance;
    const withBody = hasBody(request.method, request.headers);
    const silenceMs = withBody ? this.times.answerMs : this.times.quickAnswerMs;
    if (withBody && request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
    let answer: Awaited<ReturnType<typeof send>>;
    try {
      answer = await send(new URL(request.url, owner.address), {
        method: request.method as 'HEAD' | 'PATCH' | 'DELETE' | 'POST',
        headers,
        body: withBody ? bodyOf(request.raw) : undefined,
        dispatcher: this.agent,
        headersTimeout: silenceMs,
        bodyTimeout: silenceMs,
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // Our client left mid-body: the owner saw its connection cut, which pauses the upload; nobody hears an answer.
      if (request.raw.destroyed) throw Errors.clientAborted();
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && UNREACHABLE.has(code)) throw Errors.uploadOwnerGone(`(${owner.address}) cannot be reached (${code}): it stopped`);
      throw Errors.uploadOwnerUnreachable(err);
    }
    // The owner answered before reading the whole body (a refusal): our client's body must not be read to its end either.
    closeAfterReply(request.raw, reply.raw);
    reply.code(answer.statusCode).headers(passedBack(answer.headers));
    if (request.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304) {
      await answer.body.dump();
      return reply.send();
    }
    return reply.send(answer.body);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * The client's body as undici's request body. Through a PassThrough: undici
 * destroys the body it was given when the owner fails, and destroying the
 * IncomingMessage would reset our client's socket before it reads the 410.
 * A client that leaves mid-body cuts the owner's request in turn.
 */
function bodyOf(body: IncomingMessage): PassThrough {
  const through = new PassThrough();
  body.pipe(through);
  body.once('close', () => {
    if (!body.complete) through.destroy(Errors.clientAborted());
  });
  return through;
}

function hasBody(method: string, headers: IncomingHttpHeaders): boolean {
  if (method === 'HEAD') return false;
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

function passedBack(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'date') kept[name] = value;
  }
  return kept;
}
