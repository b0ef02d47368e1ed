import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BridgeError, Errors, toBridgeError } from '../errors.js';
import type { ForwardedHeaders, OpenUpload, UploadTarget } from './upload-target.js';
import { describeHead, detectArchiveType, SNIFF_BYTES, type ArchiveType } from './archive-type.js';
import { ARCHIVE_HEAD_BYTES, ArchiveHead } from './archive-head.js';
import { abortable } from './abortable.js';
import { readBody } from './read-body.js';
import { Rechunker } from './rechunk.js';
import type { TraceSpan } from '../observability/tracing.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface UploadLimits {
  chunkSizeBytes: number;
  maxContextBytes: number;
  idleTimeoutMs: number;
}

/** One archive's upload: what it is, where it goes, what must hold before its commit. */
export interface UploadJob {
  name: string;
  /** Announced archive size (Content-Length, expectedSizeBytes, Upload-Length), 0 when unknown. */
  expectedSizeBytes: number;
  headers: ForwardedHeaders;
  /** Digests to compute over the archive bytes; none by default (hashing costs about 1 CPU second per GiB). */
  digests?: readonly DigestAlgorithm[];
  /** See every archive byte as it streams past, e.g. an HMAC, the proof that a download is whole. */
  taps?: Array<(piece: Buffer) => void>;
  /**
   * The checks between the last byte and the half-close, run in this order
   * (the form's own, e.g. digests and the form's end, then the admission's,
   * e.g. the signature): one that throws cancels the call instead of committing it.
   */
  checks?: Array<(archive: ReceivedArchive) => void | Promise<void>>;
  /**
   * The archive's own proof that it arrived whole (an import with no length), run once the
   * body ended and before its last chunk is sent, in place of the zip end-record check.
   */
  proveEnd?: () => Promise<void>;
  /**
   * Handed the live counters (name, type, bytes, chunks) once the upload starts, for metrics and the upload log line;
   * may answer the upload's span, which the target's call is traced under.
   */
  watch?: (name: string, archive: Readonly<ReceivedArchive>) => TraceSpan | void;
  /** Where the archive goes instead of the configured upstream, e.g. a hashing sink for an idempotent replay. */
  upstream?: UploadTarget;
  /** Cancels the upload (the client went away before its body was complete, the bridge shuts down); a BridgeError reason is what gets reported. */
  signal?: AbortSignal;
  /**
   * The upload's own controller, made by its request's slot: the upload
   * cancels through it and follows its aborts (as with `signal`), so a
   * single-request upload carries one signal.
   */
  controller?: AbortController;
}

/** How one request's body is read (the request scope). */
export interface BodyOptions {
  /** What a body that sends nothing for the idle timeout becomes (default: the client's 408). */
  idleError?: () => BridgeError;
  /** Turns an error raised by the body stream into what the client is told (default: the client went away). */
  sourceError?: (err: unknown) => BridgeError;
  /** Ends this request's reading (e.g. a newer request for the same upload); the upload itself goes on. */
  signal?: AbortSignal;
}

export interface ReceivedArchive {
  contentType: ArchiveType;
  /** Bytes the upload holds: forwarded to the target, or waiting in a stage (the sniffed head, the partial chunk). */
  bytes: number;
  chunks: number;
  digests: Partial<Record<DigestAlgorithm, Buffer>>;
}

export interface UploadOutcome extends ReceivedArchive {
  contextId: string;
  sizeBytes: string;
}

/** A body stream that errors (reset, premature close) is a client that went away. */
const clientGone = (): BridgeError => Errors.clientAborted();

/**
 * Starts uploads. Single-request forms (multipart, raw, PUT, import) call
 * `upload`: one body, then the commit. A resumable upload calls `start` and
 * feeds the returned Upload one request body after another.
 *
 * Which timeout applies when (one clock runs at a time for an upload):
 *
 * | phase                                   | timeout                        | on expiry                          |
 * |-----------------------------------------|--------------------------------|------------------------------------|
 * | waiting for body bytes (readBody)       | UPLOAD_IDLE_TIMEOUT_MS         | 408 (import: 502); the request     |
 * |                                         |   (request scope)              |   ends: single-request forms cancel|
 * | multipart fields, the form's end        | UPLOAD_IDLE_TIMEOUT_MS (one    | 408, call cancelled                |
 * |                                         |   timer per form, FormParts)   |                                    |
 * | a chunk waiting for the upstream, also  | UPSTREAM_RESPONSE_TIMEOUT_MS   | 504 "stopped reading", cancelled   |
 * |   the last ones before the half-close   |   (UploadCall)                 |                                    |
 * | after the half-close, for the answer    | UPSTREAM_RESPONSE_TIMEOUT_MS   | 504 "not known yet", call kept     |
 * | after that 504, for a late answer       | UPSTREAM_OUTCOME_WAIT_MS       | reset, recorded "outcome unknown"  |
 * |                                         |   (LateAnswers)                |                                    |
 * | an import's whole download              | IMPORT_TIMEOUT_MS              | 504, cancelled (until it is whole) |
 * | a paused resumable upload               | RESUMABLE_EXPIRY_MS (sliding), | cancelled, 410                     |
 * |                                         |   RESUMABLE_MAX_LIFETIME_MS    |                                    |
 *
 * A client that leaves, or the end of a drain's grace period, cancels only
 * until the body is complete (the RequestSlot's controller, which the Upload
 * adopts: one signal per upload).
 */
export class UploadStreamer {
  constructor(
    private readonly upstream: UploadTarget,
    private readonly limits: UploadLimits,
  ) {}

  /** One request body is the whole archive: any failure while reading it cancels the upload. */
  async upload(source: Readable, job: UploadJob & BodyOptions): Promise<UploadOutcome> {
    const upload = this.start(job);
    try {
      await upload.receive(source, job);
    } catch (err) {
      upload.cancel(toBridgeError(err));
    }
    return upload.finish();
  }

  start(job: UploadJob): Upload {
    return new Upload(job, job.upstream ?? this.upstream, this.limits);
  }
}

/**
 * The upload scope: one archive, one call to the target, one cancellation
 * signal. Bytes pass these stages in order, each a few lines below:
 *
 *   limit → sniff (proves the head, opens the call) → digests and taps → re-chunk → send
 *
 * The call is opened only once the archive's head proved it (see
 * ArchiveHead: nothing corrupt reaches the target, not even as a cancelled
 * call), and half-closed only after every check passed; before that, any failure
 * cancels it so the target never keeps a partial archive.
 */
export class Upload {
  readonly archive: ReceivedArchive = { contentType: 'application/gzip', bytes: 0, chunks: 0, digests: {} };
  private readonly abort: AbortController;
  private cause: BridgeError | undefined;
  private call: OpenUpload | undefined;
  /** The rest of a piece waiting for the target: the next bytes go in only after it. */
  private pending: Promise<void> | undefined;
  /** The pieces the sniff holds, joined once when they are enough (tiny pieces would make joining each time quadratic). */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private type: ArchiveType | undefined;
  private readonly proof = new ArchiveHead();
  private readonly hashes: Map<DigestAlgorithm, Hash>;
  private readonly chunks: Rechunker;
  private readonly detach: () => void;
  private maxBytes: number;
  private overLimit: () => BridgeError;
  private readonly span: TraceSpan | undefined;

  constructor(
    private readonly job: UploadJob,
    private readonly target: UploadTarget,
    private readonly limits: UploadLimits,
  ) {
    this.maxBytes = limits.maxContextBytes;
    this.overLimit = () => Errors.tooLarge(limits.maxContextBytes);
    this.hashes = new Map((job.digests ?? []).map((algorithm) => [algorithm, createHash(algorithm)]));
    this.chunks = new Rechunker(limits.chunkSizeBytes, target.allocChunk?.bind(target));
    this.abort = job.controller ?? new AbortController();
    const outer = job.controller?.signal ?? job.signal;
    // Also called by the upload's own cancel through an adopted controller: the cause is set by then.
    const onAbort = () => {
      if (!this.cause) this.cancel(outer!.reason instanceof BridgeError ? outer!.reason : clientGone());
    };
    if (outer?.aborted) onAbort();
    else outer?.addEventListener('abort', onAbort, { once: true });
    this.detach = outer ? () => outer.removeEventListener('abort', onAbort) : noop;
    this.span = job.watch?.(job.name, this.archive) ?? undefined;
  }

  /** Aborted once the upload failed or was cancelled; the reason is the BridgeError the client is told. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Bytes taken so far (a resumable upload's offset): none of them can be lost short of cancelling the upload. */
  get offset(): number {
    return this.archive.bytes;
  }

  /**
   * The request scope: reads one request body into the upload. Resolves when
   * that body ended with every byte taken; rejects when the request ended
   * early (idle, gone, superseded) or the upload failed (then `signal` is
   * aborted). Bytes already taken stay taken either way.
   */
  async receive(source: Readable, options: BodyOptions = {}): Promise<void> {
    if (this.pending || this.cause) await this.settled();
    const signal = options.signal ? AbortSignal.any([this.abort.signal, options.signal]) : this.abort.signal;
    await readBody(source, {
      idleTimeoutMs: this.limits.idleTimeoutMs,
      idleError: options.idleError ?? (() => Errors.idleTimeout(this.limits.idleTimeoutMs)),
      sourceError: options.sourceError ?? clientGone,
      signal,
    }, (piece) => this.push(piece));
    if (this.pending || this.cause) await this.settled();
  }

  /** A tighter bound than MAX_CONTEXT_BYTES (a resumable upload's Upload-Length), and what passing it is. */
  limitTo(bytes: number, error: () => BridgeError): void {
    if (bytes >= this.maxBytes) return;
    this.maxBytes = bytes;
    this.overLimit = error;
  }

  /** Every byte taken has been handed on (or the upload failed). */
  async settled(): Promise<void> {
    while (this.pending) await abortable(this.pending, this.abort.signal);
    if (this.cause) throw this.cause;
  }

  /**
   * After the last byte: the last chunk, the size and every check, then the
   * half-close and the target's answer. Throws what the client is told.
   */
  async finish(): Promise<UploadOutcome> {
    const { archive, job } = this;
    try {
      if (this.pending || this.cause) await this.settled();
      // A body shorter than the sniff: decide on what there is.
      if (!this.call) await this.behind(this.forward(this.sniff(EMPTY, true)));
      // Before the last chunk, so a small archive whose end is wrong never reaches the target at all.
      if (job.proveEnd) await abortable(job.proveEnd(), this.abort.signal);
      else this.proof.end();
      const last = this.chunks.end();
      if (last) await this.behind(this.send(last));
      if (!this.call) throw Errors.emptyBody();
      if (job.expectedSizeBytes > 0 && archive.bytes !== job.expectedSizeBytes) {
        throw Errors.sizeMismatch(job.expectedSizeBytes, archive.bytes);
      }
      for (const [algorithm, hash] of this.hashes) archive.digests[algorithm] = hash.digest();
      for (const check of job.checks ?? []) await abortable(Promise.resolve(check(archive)), this.abort.signal);
      if (this.cause) throw this.cause;
      // Not abortable: from the half-close on, the outcome is the target's (commit has its own timeouts).
      const response = await this.call.commit();
      if (response.sizeBytes !== String(archive.bytes)) {
        throw Errors.upstreamSizeMismatch(archive.bytes, response.sizeBytes).withMetadata({ contextId: response.contextId });
      }
      return { ...archive, contextId: response.contextId, sizeBytes: response.sizeBytes };
    } catch (err) {
      throw this.cancel(toBridgeError(err));
    } finally {
      this.detach();
    }
  }

  /** Waits while the target is behind (nothing to wait for is the common case), or until the upload fails. */
  private behind(wait: Promise<void> | undefined): Promise<void> | undefined {
    return wait && abortable(wait, this.abort.signal);
  }

  /**
   * Ends the upload and resets its call at once (waiting for the stages to
   * unwind could take as long as a stalled target). The first reason wins;
   * after the half-close it does nothing.
   */
  cancel(reason: BridgeError): BridgeError {
    this.cause ??= reason;
    this.abort.abort(this.cause);
    this.call?.cancel();
    return this.cause;
  }

  /** The stages, for one piece: undefined when it was handed on, a promise while the target is behind. */
  private push(piece: Buffer): Promise<void> | undefined {
    let wait: Promise<void> | undefined;
    try {
      wait = this.forward(this.sniff(this.limit(piece)));
    } catch (err) {
      throw this.cancel(toBridgeError(err));
    }
    if (!wait) return undefined;
    const pending = wait.then(
      () => { if (this.pending === pending) this.pending = undefined; },
      (err: unknown) => {
        if (this.pending === pending) this.pending = undefined;
        throw this.cancel(toBridgeError(err));
      },
    );
    pending.catch(() => {}); // the request that pushed may be gone; the cause is kept for finish()
    this.pending = pending;
    return pending;
  }

  /** Stage 1: counts the bytes against the limit (MAX_CONTEXT_BYTES, or tighter). From here on they are the upload's. */
  private limit(piece: Buffer): Buffer {
    this.archive.bytes += piece.length;
    if (this.archive.bytes > this.maxBytes) throw this.overLimit();
    return piece;
  }

  /**
   * Stage 2: holds the first bytes until they prove the archive (ARCHIVE_HEAD_BYTES, or the
   * whole body when it ends first), then opens the call. The held bytes count in `offset`.
   */
  private sniff(piece: Buffer, final = false): Buffer | undefined {
    if (this.call) return piece;
    this.held.push(piece);
    this.heldBytes += piece.length;
    // The type is known from the first bytes: a body that is no archive at all is refused at once.
    if (!this.type && (this.heldBytes >= SNIFF_BYTES || final)) {
      if (!this.heldBytes) throw Errors.emptyBody();
      const first = this.held[0]!.length >= SNIFF_BYTES ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
      this.type = detectArchiveType(first);
      if (!this.type) throw Errors.notAnArchive(describeHead(first));
    }
    if (this.heldBytes < ARCHIVE_HEAD_BYTES && !final) return undefined;
    const type = this.type!;
    const head = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.proof.prove(type, head, final);
    this.archive.contentType = type;
    // A whole archive that fits one chunk goes out with the metadata (unless its end is still to be proven: an import).
    const whole = final && !this.job.proveEnd && head.length <= this.limits.chunkSizeBytes;
    this.call = this.target.open({ name: this.job.name, contentType: type, expectedSizeBytes: String(this.job.expectedSizeBytes) }, this.job.headers, this.span, whole ? head : undefined);
    // The target may end the call (UNAUTHENTICATED, …) while the body still streams.
    this.call.response.catch((err: unknown) => this.cancel(toBridgeError(err)));
    if (!whole) return head;
    this.archive.chunks++;
    this.see(head);
    return undefined;
  }

  /** Stages 3–5, for the bytes the sniff let through: digests and taps, re-chunk, send. */
  private forward(bytes: Buffer | undefined): Promise<void> | undefined {
    if (!bytes) return undefined;
    this.see(bytes);
    return this.chunks.push(bytes, this.send);
  }

  private see(bytes: Buffer): void {
    for (const hash of this.hashes.values()) hash.update(bytes);
    for (const tap of this.job.taps ?? []) tap(bytes);
    this.proof.update(bytes);
  }

  private readonly send = (chunk: Buffer): Promise<void> | undefined => {
    this.archive.chunks++;
    return this.call!.write(chunk);
  };
}

const EMPTY = Buffer.alloc(0);

function noop(): void {}
