import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError, Errors, toBridgeError } from '../errors.js';
import type { ForwardedHeaders, OpenUpload, UploadTarget } from './upload-target.js';
import { describeHead, detectArchiveType, SNIFF_BYTES, type ArchiveType } from './archive-type.js';
import { abortable } from './abortable.js';
import { rechunk } from './rechunk.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface UploadLimits {
  chunkSizeBytes: number;
  maxContextBytes: number;
  idleTimeoutMs: number;
}

export interface UploadJob {
  name: string;
  /** Announced archive size (Content-Length, expectedSizeBytes), 0 when unknown. */
  expectedSizeBytes: number;
  headers: ForwardedHeaders;
  /** Digests to compute over the archive bytes; none by default (hashing costs about 1 CPU second per GiB). */
  digests?: readonly DigestAlgorithm[];
  /** See every archive byte as it streams past, e.g. an HMAC, the proof that a download is whole. */
  taps?: Array<(piece: Buffer) => void>;
  /**
   * The checks between the last byte and the half-close, run in this order
   * (the route's own, e.g. digests and the form's end, then the admission's,
   * e.g. the signature): one that throws cancels the call instead of committing it.
   */
  checks?: Array<(archive: ReceivedArchive) => void | Promise<void>>;
  /** What a body that sends nothing for the idle timeout becomes (default: the client's 408). */
  idleError?: () => BridgeError;
  /** Turns an error raised by the body stream into what the client is told. */
  sourceError?: (err: unknown) => BridgeError;
  /** Handed the live counters (name, type, bytes, chunks) once the upload starts, for metrics and the upload log line. */
  watch?: (name: string, archive: Readonly<ReceivedArchive>) => void;
  /** Where the archive goes instead of the configured upstream, e.g. a hashing sink for an idempotent replay. */
  upstream?: UploadTarget;
  /** Aborted when the client goes away or the bridge shuts down; a BridgeError reason is what gets reported. */
  signal: AbortSignal;
}

export interface ReceivedArchive {
  contentType: ArchiveType;
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
 * HTTP body → archive sniffing → size limit and digests → exact-size chunks →
 * the upload target. The call is opened only once the first bytes are known
 * to be an archive, and half-closed only after every check passed; before
 * that, any failure cancels it so the upstream never keeps a partial archive.
 *
 * Which timeout applies when (one clock runs at a time for an upload):
 *
 * | phase                                   | timeout                        | on expiry                          |
 * |-----------------------------------------|--------------------------------|------------------------------------|
 * | waiting for body bytes (readBody)       | UPLOAD_IDLE_TIMEOUT_MS         | 408 (import: 502), call cancelled  |
 * | multipart fields, the form's end        | UPLOAD_IDLE_TIMEOUT_MS         | 408, call cancelled                |
 * | a chunk waiting for the upstream, also  | UPSTREAM_RESPONSE_TIMEOUT_MS   | 504 "stopped reading", cancelled   |
 * |   the last ones before the half-close   |   (UploadCall)                 |                                    |
 * | after the half-close, for the answer    | UPSTREAM_RESPONSE_TIMEOUT_MS   | 504 "not known yet", call kept     |
 * | after that 504, for a late answer       | UPSTREAM_OUTCOME_WAIT_MS       | reset, recorded "outcome unknown"  |
 * |                                         |   (LateAnswers)                |                                    |
 * | an import's whole download              | IMPORT_TIMEOUT_MS              | 504, cancelled (until it is whole) |
 *
 * A client that leaves, or the end of a drain's grace period, cancels only
 * until the body is complete (`untilBodyComplete` on `job.signal`).
 */
export class UploadStreamer {
  constructor(
    private readonly upstream: UploadTarget,
    private readonly limits: UploadLimits,
  ) {}

  async upload(source: Readable, job: UploadJob): Promise<UploadOutcome> {
    const stop = new AbortController();
    let cause: BridgeError | undefined;
    let call: OpenUpload | undefined;
    // Cancels at once: waiting for the pipeline to unwind could take as long as a stalled upstream.
    const fail = (err: BridgeError) => {
      cause ??= err;
      stop.abort(err);
      call?.cancel();
    };
    const onAbort = () => fail(job.signal.reason instanceof BridgeError ? job.signal.reason : clientGone());
    if (job.signal.aborted) onAbort();
    else job.signal.addEventListener('abort', onAbort, { once: true });

    const target = job.upstream ?? this.upstream;
    const open = (contentType: ArchiveType) => {
      call = target.open(
        { name: job.name, contentType, expectedSizeBytes: String(job.expectedSizeBytes) },
        job.headers,
      );
      // The upstream may end the call (UNAUTHENTICATED, …) while we are still reading the body.
      call.response.catch((err: unknown) => fail(toBridgeError(err)));
    };
    const hashes = new Map<DigestAlgorithm, Hash>((job.digests ?? []).map((algorithm) => [algorithm, createHash(algorithm)]));
    const archive: ReceivedArchive = { contentType: 'application/gzip', bytes: 0, chunks: 0, digests: {} };
    job.watch?.(job.name, archive);

    try {
      await pipeline(
        readBody(source, this.limits.idleTimeoutMs, job.idleError ?? (() => Errors.idleTimeout(this.limits.idleTimeoutMs)), job.sourceError ?? clientGone, fail, stop.signal),
        (pieces: AsyncIterable<Buffer>) => this.inspect(pieces, archive, hashes, open, job.taps ?? []),
        (pieces: AsyncIterable<Buffer>) => rechunk(pieces, this.limits.chunkSizeBytes, target.allocChunk?.bind(target)),
        async (chunks: AsyncIterable<Buffer>) => {
          for await (const chunk of chunks) {
            await abortable(call!.write(chunk), stop.signal);
            archive.chunks++;
          }
        },
        { signal: stop.signal },
      );
      if (!call) throw Errors.emptyBody();
      if (job.expectedSizeBytes > 0 && archive.bytes !== job.expectedSizeBytes) {
        throw Errors.sizeMismatch(job.expectedSizeBytes, archive.bytes);
      }
      for (const [algorithm, hash] of hashes) archive.digests[algorithm] = hash.digest();
      for (const check of job.checks ?? []) await abortable(Promise.resolve(check(archive)), stop.signal);
      if (cause) throw cause;
      // Not abortable: from the half-close on, the outcome is the upstream's (commit has its own timeouts).
      const response = await call.commit();
      if (response.sizeBytes !== String(archive.bytes)) {
        throw Errors.upstreamSizeMismatch(archive.bytes, response.sizeBytes);
      }
      return { ...archive, contextId: response.contextId, sizeBytes: response.sizeBytes };
    } catch (err) {
      call?.cancel();
      throw cause ?? toBridgeError(err);
    } finally {
      job.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Sniffs the archive type, counts against the limit and feeds the digests. */
  private async *inspect(
    pieces: AsyncIterable<Buffer>,
    archive: ReceivedArchive,
    hashes: Map<DigestAlgorithm, Hash>,
    open: (type: ArchiveType) => void,
    taps: Array<(piece: Buffer) => void>,
  ): AsyncGenerator<Buffer> {
    const max = this.limits.maxContextBytes;
    let head: Buffer | undefined;
    let sniffed = false;
    const accept = (piece: Buffer) => {
      archive.bytes += piece.length;
      if (archive.bytes > max) throw Errors.tooLarge(max);
      for (const hash of hashes.values()) hash.update(piece);
      for (const tap of taps) tap(piece);
      return piece;
    };
    const sniff = (bytes: Buffer) => {
      const type = detectArchiveType(bytes);
      if (!type) throw Errors.notAnArchive(describeHead(bytes));
      archive.contentType = type;
      sniffed = true;
      open(type);
    };
    for await (const piece of pieces) {
      if (sniffed) {
        yield accept(piece);
        continue;
      }
      head = head ? Buffer.concat([head, piece]) : piece;
      if (head.length < SNIFF_BYTES) continue;
      sniff(head);
      yield accept(head);
      head = undefined;
    }
    if (!sniffed) {
      if (!head?.length) throw Errors.emptyBody();
      sniff(head);
      yield accept(head);
    }
  }
}

/**
 * Reads the body without ever destroying it: destroying an IncomingMessage
 * destroys its socket, and the client must still get our error reply. The
 * idle timer runs only while the bridge is actually waiting for body bytes.
 */
async function* readBody(
  source: Readable,
  idleTimeoutMs: number,
  idleError: () => BridgeError,
  sourceError: (err: unknown) => BridgeError,
  fail: (err: BridgeError) => void,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const iterator = source.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
  let waiting = false;
  const idle = setTimeout(() => {
    if (waiting) fail(idleError());
  }, idleTimeoutMs);
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      waiting = true;
      idle.refresh();
      let result: IteratorResult<Buffer>;
      try {
        result = await abortable(iterator.next(), signal);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw sourceError(err);
      } finally {
        waiting = false;
      }
      if (result.done) return;
      yield result.value;
    }
  } finally {
    clearTimeout(idle);
    // Not awaited: a next() still pending on an idle client would hold it until the socket closes.
    void iterator.return?.();
  }
}
