import * as grpc from '@grpc/grpc-js';
import { BridgeError, Errors, OutcomeUnknownError } from '../errors.js';
import { checkForwardable, type ForwardedHeaders, type OpenUpload, type UploadTarget } from '../upload/upload-target.js';
import { allocChunk, framePair, recycleChunk, serializeChunk } from './chunk-serializer.js';
import { framingVerified, installChunkFraming } from './frame-in-place.js';
import { deserializeResponse, serializeMetadata, UPLOAD_METHOD_PATH, type UploadMetadata, type UploadResponse } from './upload-messages.js';
import { findHttp2Stream, resetCall } from './reset-call.js';
import { tracing, type TraceSpan } from '../observability/tracing.js';

/**
 * Chunks handed to the call and not yet written to the connection. One is
 * enough: while it goes out, the client's next bytes wait in the socket, so
 * an upload holds one chunk at a time. (2 was measured too, paired: the same
 * throughput alone and with 32 uploads at once, and a 20 MiB higher RSS peak
 * with 32 at once.)
 */
const MAX_UNACKED_WRITES = 1;

/**
 * Statuses that, once the call is half-closed, may come from the transport
 * (a dropped connection, a reset stream) rather than from the upstream's
 * verdict: the archive may have been committed all the same.
 */
const AMBIGUOUS_AFTER_HALF_CLOSE = new Set<number>([
  grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DEADLINE_EXCEEDED,
]);

export interface UpstreamClientOptions {
  target: string;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** No progress this long while writing, or no answer this long after the half-close: 504. */
  responseTimeoutMs: number;
}

/** The gRPC upstream as the upload pipeline's target: routes never touch grpc-js. */
export class UpstreamClient implements UploadTarget {
  readonly target: string;
  private readonly channel: grpc.Channel;
  private readonly responseTimeoutMs: number;

  constructor(options: UpstreamClientOptions) {
    installChunkFraming();
    this.target = options.target;
    this.responseTimeoutMs = options.responseTimeoutMs;
    this.channel = new grpc.Channel(options.target, options.credentials ?? grpc.credentials.createInsecure(), {
      // Retries would keep chunks referenced in grpc-js's retry buffer; an upload is never replayed anyway.
      'grpc.enable_retries': 0,
      // Even so, grpc-js acknowledges a write that fits this buffer before sending it; with 0 the write
      // callback means the chunk was handed to HTTP/2, which the unacked bound and chunk reuse rely on.
      'grpc.per_rpc_retry_buffer_size': 0,
      ...options.channelOptions,
    });
  }

  open(metadata: UploadMetadata, headers: ForwardedHeaders, parent?: TraceSpan, first?: Buffer): UploadCall {
    return new UploadCall(this.channel, metadata, headers, this.responseTimeoutMs, tracing.on ? callSpan(this.target, parent) : undefined, first);
  }

  /** Chunks with headroom for the message header, so the serializer frames them in place. */
  allocChunk(size: number): Buffer {
    return allocChunk(size);
  }

  /** The channel's connectivity state, e.g. READY or TRANSIENT_FAILURE; `connect` starts connecting an IDLE channel. */
  channelState(connect = false): string {
    return grpc.connectivityState[this.channel.getConnectivityState(connect)] ?? 'UNKNOWN';
  }

  close(): void {
    this.channel.close();
  }
}

function toMetadata(headers: ForwardedHeaders): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(checkForwardable(headers))) if (value) metadata.set(key, value);
  return metadata;
}

/**
 * The client span of one UploadBuildContext call, by hand: the call goes
 * straight to the channel, where instrumentation that patches grpc-js's
 * Client never sees it.
 */
const [UPLOAD_SERVICE, UPLOAD_METHOD] = UPLOAD_METHOD_PATH.slice(1).split('/') as [string, string];

function callSpan(target: string, parent: TraceSpan | undefined): TraceSpan {
  return tracing.start(UPLOAD_METHOD_PATH.slice(1), {
    kind: 'client',
    parent,
    attributes: { 'rpc.system': 'grpc', 'rpc.service': UPLOAD_SERVICE, 'rpc.method': UPLOAD_METHOD, 'server.address': target },
  });
}

/** A call on the channel itself: no interceptors, no Writable, messages handed over already serialized. */
type ChannelCall = ReturnType<grpc.Channel['createCall']>;

export class UploadCall implements OpenUpload {
  /** Settles when the upstream answers: the response, or the mapped error. */
  readonly response: Promise<UploadResponse>;
  private readonly call: ChannelCall;
  private unacked = 0;
  /** Messages waiting for the one grpc-js is sending: a channel call takes one message at a time. */
  private readonly outbox: Array<{ message: Buffer; sent: () => void }> = [];
  private sending = false;
  /** The one wait in progress on the upstream, under `timer`. */
  private waiter: { done: () => boolean; resolve: () => void; reject: (err: BridgeError) => void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: BridgeError | undefined;
  private answered = false;
  private halfClosed = false;
  /** A message was handed to HTTP/2, so the call has a stream to reset. */
  private sentData = false;
  private sentBytes = 0;

  constructor(
    channel: grpc.Channel,
    metadata: UploadMetadata,
    headers: ForwardedHeaders,
    private readonly timeoutMs: number,
    span?: TraceSpan,
    first?: Buffer,
  ) {
    // Exactly one traceparent upstream: the call's span when traced, else the request's as it came.
    const callMetadata = toMetadata(span ? { ...headers, traceparent: span.traceparent } : headers);
    let settle!: { resolve: (r: UploadResponse) => void; reject: (e: BridgeError) => void };
    this.response = new Promise<UploadResponse>((resolve, reject) => { settle = { resolve, reject }; });
    this.response.catch(() => {}); // observed by whoever awaits it; a cancel must not become unhandled
    const answer = (err: { code: number; details: string } | undefined, response?: UploadResponse) => {
      if (this.answered) return;
      this.answered = true;
      if (err || !response) {
        const code = err?.code ?? grpc.status.UNKNOWN;
        // After END_STREAM, a broken connection or stream says nothing about whether the upstream committed.
        this.failure ??= this.halfClosed && AMBIGUOUS_AFTER_HALF_CLOSE.has(code)
          ? Errors.upstreamOutcomeLost(grpc.status[code] ?? String(code), err?.details ?? 'no response')
          : Errors.upstream(code, err?.details ?? 'no response');
        settle.reject(this.failure);
      } else if (!this.halfClosed) {
        // An answer before the archive was complete cannot describe it; grpc-js also stops acknowledging writes.
        this.failure ??= Errors.upstreamAnsweredEarly();
        settle.reject(this.failure);
      } else {
        settle.resolve(response);
      }
      if (span) {
        span.set({ 'rpc.grpc.status_code': err?.code ?? grpc.status.OK, 'ignite.sent_bytes': this.sentBytes });
        if (this.failure) span.fail(this.failure);
        span.end();
      }
      this.wake();
      // Answered: nothing is waited for any more. A wait after this settles at once, or arms a new timer.
      clearTimeout(this.timer);
      this.timer = undefined;
    };
    let response: UploadResponse | undefined;
    let broken: { code: number; details: string } | undefined;
    // Ends the call from the bridge's side: a reset while the archive is incomplete, so a naive upstream cannot take it as whole.
    const refuse = (error: { code: number; details: string }) => {
      broken = error;
      answer(error);
      if (this.halfClosed) this.call.cancelWithStatus(error.code, error.details);
      else this.reset();
    };
    this.call = channel.createCall(UPLOAD_METHOD_PATH, Infinity, undefined, null, undefined);
    this.call.start(callMetadata, {
      onReceiveMetadata: () => {},
      onReceiveMessage: (message: Buffer) => {
        if (response || broken) {
          refuse({ code: grpc.status.UNIMPLEMENTED, details: 'Too many responses received' });
          return;
        }
        try {
          response = deserializeResponse(message);
        } catch (err) {
          // Read as it arrives, as grpc-js's client does: an answer that cannot be read ends the call at once.
          refuse({ code: grpc.status.INTERNAL, details: `Response message parsing error: ${err instanceof Error ? err.message : String(err)}` });
          return;
        }
        this.call.startRead();
      },
      onReceiveStatus: ({ code, details }) => {
        if (broken) return answer(broken);
        if (code !== grpc.status.OK) return answer({ code, details });
        answer(response ? undefined : { code: grpc.status.UNIMPLEMENTED, details: 'No message received' }, response);
      },
    });
    this.call.startRead();
    const sent = () => { this.sentData = true; };
    if (first && framingVerified()) {
      // A whole archive that fits one chunk: one write for both messages, so it never waits for the metadata's.
      this.sentBytes += first.length;
      this.unacked++;
      this.send(framePair(serializeMetadata(metadata), serializeChunk(first)), () => {
        sent();
        this.unacked--;
      });
      return;
    }
    this.send(serializeMetadata(metadata), sent);
    if (first) this.sendChunk(first);
  }

  /**
   * Sends one chunk. With MAX_UNACKED_WRITES outstanding it answers a promise
   * that settles once fewer are: send nothing more until then. The chunk is
   * reused for a later one once grpc-js is done with it: do not keep it.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.sendChunk(chunk);
    return this.unacked >= MAX_UNACKED_WRITES ? this.waitFor(() => this.unacked < MAX_UNACKED_WRITES) : undefined;
  }

  private sendChunk(chunk: Buffer): void {
    this.sentBytes += chunk.length;
    this.unacked++;
    this.send(serializeChunk(chunk), () => {
      // HTTP/2 sends straight from the chunk (frame-in-place.ts). A write completed by its stream going away
      // (a reset, the upstream ending the call) may still have a slice of it queued on the connection:
      // such a chunk is left to the GC rather than refilled.
      if (!this.failure && findHttp2Stream(this.call)?.destroyed === false) recycleChunk(chunk);
      this.unacked--;
    });
  }

  /**
   * Half-closes (the archive is complete and checked) and waits for the
   * upstream's answer. From here on the outcome is the upstream's: nothing
   * cancels the call, and an answer that is late is an OutcomeUnknownError
   * that keeps the call open for it.
   */
  async commit(): Promise<UploadResponse> {
    // The last chunks may still wait on HTTP/2 flow control: until they are out, a stall is "stopped reading" and a reset is still safe.
    await this.waitFor(() => this.unacked === 0 && !this.sending);
    this.halfClosed = true;
    this.call.halfClose();
    try {
      await this.waitFor(() => this.answered);
    } catch (err) {
      if (this.answered) throw err;
      throw new OutcomeUnknownError(this.timeoutMs, this.sentBytes, this.response, () => this.reset());
    }
    return this.response;
  }

  /** Cancels the call so the upstream sees a reset, never a clean end; once half-closed it is too late. */
  cancel(): void {
    if (!this.halfClosed) this.reset();
  }

  private reset(): void {
    resetCall(this.call, this.sentData);
  }

  private send(message: Buffer, sent: () => void): void {
    this.outbox.push({ message, sent });
    this.sendNext();
  }

  private sendNext(): void {
    const next = this.sending ? undefined : this.outbox.shift();
    if (!next) return;
    this.sending = true;
    this.call.sendMessageWithContext({
      callback: () => {
        this.sending = false;
        next.sent();
        this.sendNext();
        this.wake();
      },
    }, next.message);
  }

  /**
   * Waits on the upstream (a free write slot, the last chunks out, the
   * answer) for at most the response timeout. One wait at a time, under the
   * call's one timer, refreshed for each wait rather than re-created.
   */
  private waitFor(done: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiter = { done, resolve, reject };
      if (this.timer) this.timer.refresh();
      else this.timer = setTimeout(this.expire, this.timeoutMs);
    });
  }

  /** Something changed (a write went out, the answer came): settles the wait it ends. */
  private readonly wake = (): void => {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    } else if (waiter.done()) {
      this.waiter = undefined;
      waiter.resolve();
    }
  };

  /** The timer fired: a wait in progress took too long; with none, it does nothing until a wait refreshes it. */
  private readonly expire = (): void => {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    waiter.reject(Errors.upstreamTimeout(this.timeoutMs));
  };
}
