import type { Readable } from 'node:stream';
import { ClientGoneError, Errors, OutcomeLostError, OutcomeUnknownError, toBridgeError, type BridgeError } from '../errors.js';
import type { LateAnswers } from '../upload/late-answers.js';
import type { ReceivedArchive, Upload, UploadStreamer } from '../upload/stream-upload.js';
import type { ForwardedHeaders } from '../upload/upload-target.js';
import type { BuildRequest } from '../builds/build-request.js';
import type { BuildStep } from './resumable-build.js';
import type { TraceSpan } from '../observability/tracing.js';

export interface ResumableSpec {
  id: string;
  name: string;
  /** Upload-Length; undefined while deferred (Upload-Defer-Length: 1). */
  length: number | undefined;
  /** The creation's Upload-Metadata, echoed by HEAD. */
  metadata: string | undefined;
  /** Who may touch the upload: the creating request's credential scope (anonymous: anyone holding the id). */
  scope: string;
  /** The caps it counts against: its creator's client address, and its credential when it has one. */
  capKeys: string[];
  /** When it was created, if not now (another replica created it; this one claimed its first PATCH). */
  createdAt?: number;
  /** The build to start once the context is stored (Upload-Metadata `build` and `tags`). */
  build?: BuildRequest | undefined;
  /** The creation request's traceparent (tracing on): the upload's span is its child, each PATCH's span links to it. */
  trace?: string | undefined;
}

export interface ResumableTimes {
  expiryMs: number;
  maxLifetimeMs: number;
}

/**
 * `unknown`: every byte was sent and no answer is known (still awaited, or
 * given up); `terminated`: ended by DELETE (404 from then on); `gone`: ended
 * by a failed check, the upstream, expiry or a shutdown (410).
 */
export type Phase = 'receiving' | 'committing' | 'completed' | 'unknown' | 'gone' | 'terminated';

export interface Answer {
  contextId: string;
  sizeBytes: string;
}

/** What one PATCH did: the upload is complete (its answer), or waits for more bytes. */
export type PatchResult = { kind: 'completed'; answer: Answer } | { kind: 'progress' };

export interface PatchRequest {
  body: Readable;
  /** Upload-Offset as sent. */
  offset: number;
  /** Content-Length, when the PATCH announced one. */
  contentLength: number | undefined;
  /** Upload-Length, when this PATCH declares a deferred length. */
  length: number | undefined;
  /** Headers for the call, when this PATCH opens it. */
  headers: ForwardedHeaders;
  /** Starts the metrics' and log line's view of the upload, when this PATCH opens its call. */
  observe: () => (name: string, archive: Readonly<ReceivedArchive>) => TraceSpan | void;
  /** Called once the PATCH is accepted, right before its body is read (e.g. 100 Continue). */
  beforeBody: () => void;
  /**
   * Aborted when the request itself broke: Node's parser refused its body
   * (reason MALFORMED_HTTP) or the client closed its side mid-body
   * (CLIENT_ABORTED), seen at once rather than at the idle timeout.
   */
  broken?: AbortSignal;
  idleTimeoutMs: number;
}

/**
 * One resumable upload on the replica that owns its call. Its state is the
 * open Upload (one gRPC call fed bytes 0…length in order, exactly once);
 * PATCHes are request scopes that feed it. A PATCH that idles, breaks or is
 * superseded pauses the upload; only termination, expiry, a failed check,
 * the upstream or shutdown ends it.
 */
export class ResumableUpload {
  readonly createdAt: number;
  phase: Phase = 'receiving';
  /** Set once completed. */
  answer: Answer | undefined;
  /** What requests for the upload are told once it is gone (410), terminated (404) or its outcome unknown (423). */
  error: BridgeError | undefined;
  /** In phase `unknown`: the upstream's late answer may still come. */
  awaitingAnswer = false;
  /** The headers of the PATCH that delivered the last byte: the build step's credential and request id. */
  completedBy: ForwardedHeaders | undefined;
  /** Its build step, once started (spec.build). */
  build: BuildStep | undefined;
  /** Why it ended, as the request that was running then is told. */
  private cause: BridgeError | undefined;
  /** An earlier PATCH ended before the upload was complete. */
  paused = false;
  private lastProgress: number;
  private upload: Upload | undefined;
  private finalOffset = 0;
  private current: { stop: AbortController; done: Promise<void> } | undefined;
  private timer: NodeJS.Timeout;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;
  private readonly result: Promise<Answer>;
  private settleResult!: { resolve: (answer: Answer) => void; reject: (err: BridgeError) => void };
  private readonly endListeners: Array<() => void> = [];
  private beforeSend: (() => Promise<void>) | undefined;

  constructor(
    readonly spec: ResumableSpec,
    private readonly streamer: UploadStreamer,
    private readonly times: ResumableTimes,
    private readonly lateAnswers: LateAnswers,
    private readonly onResume: () => void,
  ) {
    this.createdAt = spec.createdAt ?? Date.now();
    this.lastProgress = this.createdAt;
    this.ended = new Promise((resolve) => { this.markEnded = resolve; });
    this.result = new Promise((resolve, reject) => { this.settleResult = { resolve, reject }; });
    this.result.catch(() => {});
    // The sooner of the sliding expiry and the lifetime (which may come first, or be shortened by an earlier creation).
    this.timer = setTimeout(() => this.checkExpiry(), Math.max(0, this.expiresAt - Date.now()) + 1).unref();
  }

  get id(): string {
    return this.spec.id;
  }

  get length(): number | undefined {
    return this.spec.length;
  }

  /** Bytes the upload holds: forwarded into its call, or in its partial chunk. */
  get offset(): number {
    return this.upload?.offset ?? this.finalOffset;
  }

  /** When it expires unless it progresses (sliding), never later than its lifetime allows. */
  get expiresAt(): number {
    return Math.min(this.lastProgress + this.times.expiryMs, this.createdAt + this.times.maxLifetimeMs);
  }

  /** Settles once the upload completed or is gone (for the registry and the upload's log line). */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /** The upload's final answer, or why it is gone (for the metrics and the upload's log line). */
  outcome(): Promise<Answer> {
    return this.result;
  }

  /**
   * Calls `listener` whenever the upload's end is settled: completed or gone,
   * and again if a late answer settles an outcome that was unknown.
   */
  onEnded(listener: () => void): void {
    this.endListeners.push(listener);
  }

  /**
   * Awaited right before the half-close (e.g. the shared record's move to
   * "sent"); meanwhile requests are told 423. A throw cancels the call.
   */
  sendOnlyAfter(step: () => Promise<void>): void {
    this.beforeSend = step;
  }

  /** Upload-Defer-Length: the length arrives with a later PATCH, once. */
  declareLength(length: number): void {
    if (this.spec.length !== undefined) {
      if (this.spec.length !== length) throw Errors.invalidTusHeader(`Upload-Length ${length} differs from the upload's length ${this.spec.length}`);
      return;
    }
    if (length < this.offset) throw Errors.invalidTusHeader(`Upload-Length ${length} is below the ${this.offset} bytes already received`);
    this.spec.length = length;
    this.upload?.limitTo(length, () => Errors.pastUploadLength(length));
  }

  /**
   * The upload's one lock, held by the PATCH feeding it: a newer request
   * takes it over, ending that PATCH (its client's connection may have died
   * silently) while keeping every byte it delivered, and resolves once those
   * bytes are taken and the lock is free.
   */
  async lock(): Promise<void> {
    const current = this.current;
    if (!current) return;
    current.stop.abort(Errors.patchSuperseded());
    await current.done.catch(() => {});
  }

  /** Throws what a request for an upload that cannot take bytes now is told. */
  assertReceiving(): void {
    if (this.phase === 'committing') throw Errors.commitInProgress();
    if (this.phase !== 'receiving' && this.phase !== 'completed') throw this.error!;
  }

  async patch(request: PatchRequest): Promise<PatchResult> {
    // One PATCH at a time: from the last lock() to holding it (`current`, below) nothing awaits.
    while (this.current) await this.lock();
    if (this.phase === 'completed' && request.offset === this.offset) return { kind: 'completed', answer: this.answer! };
    this.assertReceiving();
    if (this.phase !== 'receiving') throw Errors.offsetMismatch(this.offset, String(request.offset));
    if (request.offset !== this.offset) throw Errors.offsetMismatch(this.offset, String(request.offset));
    if (request.length !== undefined) this.declareLength(request.length);
    const { length } = this.spec;
    if (length !== undefined && request.contentLength !== undefined && request.offset + request.contentLength > length) {
      throw this.end(Errors.pastUploadLength(length));
    }
    // A request refused before its body was read never acts.
    if (request.broken?.aborted) throw toBridgeError(request.broken.reason);
    const upload = this.open(request);
    if (this.paused) this.onResume();
    this.paused = false;
    request.beforeBody();
    const stop = new AbortController();
    const onBroken = () => {
      const reason = toBridgeError(request.broken!.reason);
      // A client that left pauses the upload. A body whose framing broke may already have passed on bytes that
      // were not the archive's (a miscounted chunk), so the upload cannot keep them: it ends, its call is reset.
      if (reason instanceof ClientGoneError && reason.code === 'CLIENT_ABORTED') stop.abort(reason);
      else this.end(reason);
    };
    request.broken?.addEventListener('abort', onBroken, { once: true });
    const done = upload.receive(request.body, {
      signal: stop.signal,
      idleError: () => Errors.patchIdle(request.idleTimeoutMs, upload.offset),
    });
    this.current = { stop, done };
    this.progress();
    let interrupted: BridgeError | undefined;
    try {
      await done;
    } catch (err) {
      // The upload itself failed (a check, the upstream, expiry, termination): it is over.
      if (upload.signal.aborted) throw this.end(toBridgeError(upload.signal.reason));
      // Only this request ended (idle, gone, superseded): the upload is paused, its bytes kept.
      this.paused = true;
      interrupted = toBridgeError(err);
    } finally {
      request.broken?.removeEventListener('abort', onBroken);
      if (this.current?.stop === stop) this.current = undefined;
      this.progress();
    }
    // Every byte is in, even if this request ended meanwhile: commit (whoever asks next sees 423, then the answer).
    if (this.spec.length !== undefined && this.offset === this.spec.length) {
      this.completedBy = request.headers;
      const answer = this.commit(upload);
      if (interrupted === undefined) return { kind: 'completed', answer: await answer };
      answer.catch(() => {});
    }
    if (interrupted !== undefined) throw interrupted;
    return { kind: 'progress' };
  }

  /**
   * DELETE: resets the call (nothing is stored); after the half-close it is
   * too late; a gone upload stays gone (410). A PATCH still open is ended with
   * the upload, and told so.
   */
  async terminate(): Promise<void> {
    if (this.phase === 'committing' || this.phase === 'completed' || this.phase === 'unknown') throw Errors.deleteAfterHalfClose();
    if (this.phase !== 'receiving') throw this.error!;
    const current = this.current;
    this.end(Errors.uploadGone('The upload was terminated (DELETE): its upstream call was cancelled and nothing was stored'), 'terminated');
    await current?.done.catch(() => {});
  }

  /**
   * Ends the upload unless its commit already began: the call is reset (the
   * upstream keeps nothing) and later requests get a 410 that says why.
   * Answers the first reason, for the request that was running.
   */
  end(reason: BridgeError, as: 'gone' | 'terminated' = 'gone'): BridgeError {
    if (this.phase !== 'receiving') return this.cause ?? reason;
    this.phase = as;
    this.cause = reason;
    if (as === 'terminated') this.error = Errors.uploadNotFound();
    else this.error = reason.httpStatus === 410 ? reason : Errors.uploadGone(`The upload ended: ${reason.message}`);
    this.upload?.cancel(reason);
    this.current?.stop.abort(reason);
    this.settle();
    return reason;
  }

  private open(request: PatchRequest): Upload {
    if (this.upload) return this.upload;
    const { name, length } = this.spec;
    const upload = this.streamer.start({ name, expectedSizeBytes: length ?? 0, headers: request.headers, watch: request.observe() });
    if (length !== undefined) upload.limitTo(length, () => Errors.pastUploadLength(length));
    // The upstream may end the call while the upload is paused (e.g. an idle stream): it is gone then.
    upload.signal.addEventListener('abort', () => this.end(toBridgeError(upload.signal.reason)), { once: true });
    this.upload = upload;
    return upload;
  }

  private async commit(upload: Upload): Promise<Answer> {
    this.phase = 'committing';
    let sending = false;
    try {
      await this.beforeSend?.();
      sending = true;
      const outcome = await upload.finish();
      this.complete({ contextId: outcome.contextId, sizeBytes: outcome.sizeBytes });
      return this.answer!;
    } catch (err) {
      const error = toBridgeError(err);
      if (!sending) upload.cancel(error);
      this.cause = error;
      // Sent completely with no answer: 423 from now on, never 410 (a tus client would upload it again).
      if (error instanceof OutcomeUnknownError) {
        this.phase = 'unknown';
        this.awaitingAnswer = true;
        this.error = Errors.uploadOutcomePending();
        this.lateAnswers.follow(error, (late) => {
          this.awaitingAnswer = false;
          if (late.kind === 'answered') this.complete(late.response);
          else if (late.kind === 'failed') this.fail(Errors.uploadGone(`The upstream refused the upload: ${late.error.message}`));
          else this.error = Errors.uploadOutcomeUnknown('the upstream never answered within UPSTREAM_OUTCOME_WAIT_MS');
          this.settle();
        });
        this.settle();
        // A tus client has no Idempotency-Key: its upload URL is how it learns the outcome.
        throw Errors.resumableOutcomeUnknown(error.timeoutMs);
      } else if (error instanceof OutcomeLostError) {
        this.phase = 'unknown';
        this.error = Errors.uploadOutcomeUnknown(`the connection to the upstream broke after every byte was sent: ${error.message}`);
        this.settle();
        throw this.error;
      } else {
        this.fail(Errors.uploadGone(`The upload failed: ${error.message}`));
      }
      this.settle();
      throw error;
    }
  }

  private fail(error: BridgeError): void {
    this.phase = 'gone';
    this.error = error;
  }

  private complete(answer: Answer): void {
    this.phase = 'completed';
    this.answer = answer;
    this.error = undefined;
    this.settle();
  }

  private settle(): void {
    clearTimeout(this.timer);
    // An ended upload is remembered for its answer: not its buffers or its call.
    this.finalOffset = this.offset;
    this.upload = undefined;
    if (this.answer) this.settleResult.resolve(this.answer);
    else this.settleResult.reject(this.cause ?? this.error!);
    this.markEnded();
    for (const listener of this.endListeners) listener();
  }

  private progress(): void {
    this.lastProgress = Date.now();
  }

  private checkExpiry(): void {
    if (this.phase !== 'receiving') return;
    const now = Date.now();
    const lifetimeEnds = this.createdAt + this.times.maxLifetimeMs;
    if (now >= lifetimeEnds) {
      this.end(Errors.uploadExpired(`it reached RESUMABLE_MAX_LIFETIME_MS, ${this.times.maxLifetimeMs} ms`));
      return;
    }
    // A PATCH receiving bytes is progress (its own idle timeout covers a stall).
    if (this.current) this.progress();
    if (now >= this.expiresAt) {
      this.end(Errors.uploadExpired(`no bytes arrived for RESUMABLE_EXPIRY_MS, ${this.times.expiryMs} ms`));
      return;
    }
    this.timer = setTimeout(() => this.checkExpiry(), this.expiresAt - now + 1).unref();
  }
}
