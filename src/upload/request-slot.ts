import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../errors.js';
import { onParseError } from '../http/client-error.js';
import { bodyComplete } from '../http/http2-request.js';
import type { UploadGate, UploadSlot } from './upload-gate.js';

/** Where a request's archive comes from: its own body, or a download (an import, whose JSON body Fastify already read). */
export type ArchiveSource = 'body' | 'download';

/**
 * One request's place under MAX_CONCURRENT_UPLOADS, and its upload's one
 * abort signal (`controller`, which the Upload adopts). The client leaving
 * (`reply` closed before the answer), Node's parser refusing the rest of the
 * body, and the end of a drain's grace period abort it, each only until the
 * archive's bytes are all in: from then on the checks alone decide between
 * the half-close and a cancel. `release` once the upload is stored or failed
 * (it may be called again).
 */
export class RequestSlot {
  private readonly slot: UploadSlot;
  private readonly request: FastifyRequest;
  private readonly reply: FastifyReply | undefined;
  private readonly source: ArchiveSource;
  private download: Readable | undefined;
  private unroute: (() => void) | undefined;

  /**
   * Throws the 503 (over capacity, shutting down) when there is no slot.
   * `reply` undefined: no client waits (an async import).
   */
  constructor(gate: UploadGate, request: FastifyRequest, reply: FastifyReply | undefined, source: ArchiveSource) {
    this.request = request;
    this.reply = reply;
    this.source = source;
    this.slot = gate.enter({ cancellable: this.cancellable });
    if (!reply) return;
    reply.raw.once('close', this.onClose);
    if (source === 'body') this.unroute = onParseError(request.raw, this.onParseError);
  }

  get controller(): AbortController {
    return this.slot.controller;
  }

  get signal(): AbortSignal {
    return this.slot.signal;
  }

  /** The download an import streams: the slot stops cancelling once it ended. */
  follow(download: Readable): void {
    this.download = download;
  }

  /** Every early check has passed: only now may the client start sending its body. */
  continue(): void {
    if (this.reply) writeContinue(this.request, this.reply);
  }

  /** Cancels the upload (the IMPORT_TIMEOUT_MS deadline, say), on the same terms as the client leaving. */
  abort(reason: Error): void {
    this.slot.abort(reason);
  }

  release(): void {
    this.reply?.raw.removeListener('close', this.onClose);
    this.unroute?.();
    this.unroute = undefined;
    this.slot.release();
  }

  private readonly cancellable = (): boolean => {
    if (this.source === 'body') return !bodyComplete(this.request.raw);
    return this.download === undefined || !this.download.readableEnded;
  };

  private readonly onClose = (): void => {
    if (!this.reply!.raw.writableEnded) this.slot.abort(Errors.clientAborted());
  };

  private readonly onParseError = (error: Error): void => this.slot.abort(error);
}

/** `Expect: 100-continue` answered, once nothing before the body can refuse the request. */
export function writeContinue(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
}
