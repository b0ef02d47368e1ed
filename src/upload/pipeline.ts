import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, type BridgeError } from '../errors.js';
import { forwardedHeaders } from '../http/forwarded-headers.js';
import type { Admission, UploadAdmissions } from '../admission/upload-admission.js';
import type { UploadMode } from '../observability/metrics.js';
import type { UploadObserver, UploadWatch } from '../observability/upload-observer.js';
import type { BuildRequest } from '../builds/build-request.js';
import { replyHandedOff, type HandedOff } from '../builds/reply-built.js';
import type { StoredContext } from '../builds/hand-off.js';
import { algorithmsOf, reprDigest, verifyDigests, wantedDigests, type ExpectedDigest } from './digests.js';
import { RequestSlot } from './request-slot.js';
import type { ForwardedHeaders } from './upload-target.js';
import type { UploadGate } from './upload-gate.js';
import type { BodyOptions, ReceivedArchive, UploadJob, UploadOutcome, UploadStreamer } from './stream-upload.js';

/** What a form hands the pipeline once it reached its archive's first byte. */
export interface FormBody {
  /** The archive's bytes. */
  readonly source: Readable;
  readonly name: string;
  /** Content-Length, expectedSizeBytes; 0 when unknown. */
  readonly expectedSizeBytes: number;
  /** The digests the client announced (Content-Digest, a form's sha256 field), checked against the archive's. */
  readonly digests: ExpectedDigest[];
  /** Turns an error of `source` into what the client is told (default: the client went away). */
  readonly sourceError?: ((err: unknown) => BridgeError) | undefined;
  /** The form's own check of its archive, the first before the half-close (a multipart file cut at its limit). */
  check?(): void;
  /** The rest of the form, read once the archive's digests are checked (multipart: the fields after the file). */
  readRest?(): Promise<void>;
}

/** One single-request upload form: raw POST or PUT, multipart. */
export interface UploadForm {
  readonly mode: UploadMode;
  /** A build asked for in the query, validated before the body. */
  readonly build: BuildRequest | undefined;
  /**
   * Reads up to the archive's first byte, once the request is admitted and
   * told to continue. `admission` takes a build named in the body; `signal`
   * is the upload's.
   */
  open(admission: Admission, signal: AbortSignal): FormBody | Promise<FormBody>;
  /** Frees what reading the form holds (its idle timer), however the upload ended. */
  close?(): void;
}

export interface PipelineDependencies {
  streamer: UploadStreamer;
  gate: UploadGate;
  observer: UploadObserver;
  admissions: UploadAdmissions;
}

/**
 * Every single-request upload, top to bottom: admission (content coding,
 * forwardable headers, a slot, signature and Idempotency-Key, 100 Continue),
 * the form's body streamed to the upstream, the checks before the half-close,
 * then the answer and the build's hand-off. The observation begins with the
 * run and ends once, here: stored, or refused (a 415, a 503 included).
 */
export class UploadPipeline {
  constructor(private readonly deps: PipelineDependencies) {}

  async run(request: FastifyRequest, reply: FastifyReply, form: UploadForm): Promise<StoredContext | string> {
    const observation = this.deps.observer.begin(request, form.mode);
    let slot: RequestSlot | undefined;
    let answer: HandedOff;
    try {
      const encoding = request.headers['content-encoding']?.trim().toLowerCase();
      if (encoding && encoding !== 'identity') throw Errors.unsupportedContentEncoding(encoding);
      const authorization = request.headers.authorization;
      const headers = forwardedHeaders(request, typeof authorization === 'string' ? authorization : undefined);
      slot = new RequestSlot(this.deps.gate, request, reply, 'body');
      // Signature headers and Idempotency-Key: refused (401, 409, 504) before the body.
      const admission = await this.deps.admissions.admit(request);
      admission.requestBuild(form.build, 'query');
      slot.continue();
      let outcome: UploadOutcome;
      try {
        outcome = await this.stream(request, form, admission, slot, headers, observation.watch);
      } catch (err) {
        await admission.fail(err);
        throw err;
      }
      const digest = reprDigest(outcome.digests);
      if (digest) reply.header('repr-digest', digest);
      // A build's CreateBuild holds no upload slot.
      answer = await admission.finish(outcome, reply, () => slot!.release());
      observation.succeeded(answer.contextId, reply);
    } catch (err) {
      observation.failed(err);
      throw err;
    } finally {
      form.close?.();
      slot?.release();
    }
    return replyHandedOff(reply, answer);
  }

  private async stream(request: FastifyRequest, form: UploadForm, admission: Admission, slot: RequestSlot, headers: ForwardedHeaders, watch: UploadWatch): Promise<UploadOutcome> {
    const signal = slot.signal;
    const job: UploadJob & BodyOptions = {
      name: '',
      expectedSizeBytes: 0,
      headers,
      digests: wantedDigests(request.headers),
      watch,
      controller: slot.controller,
    };
    admission.prepare(job);
    const body = await form.open(admission, signal);
    job.name = body.name;
    job.expectedSizeBytes = body.expectedSizeBytes;
    job.digests = algorithmsOf(body.digests, job.digests);
    job.sourceError = body.sourceError;
    job.checks = [(archive) => beforeHalfClose(body, admission, archive, signal)];
    return this.deps.streamer.upload(body.source, job);
  }
}

/**
 * Every check between the archive's last byte and the half-close, in this
 * order (the Upload compared the size with the announced one just before):
 * one that throws cancels the call. The upload may be cancelled meanwhile,
 * and then nothing after may run, least of all the "sent" mark.
 */
async function beforeHalfClose(body: FormBody, admission: Admission, archive: ReceivedArchive, signal: AbortSignal): Promise<void> {
  body.check?.();
  verifyDigests(body.digests, archive.digests);
  if (body.readRest) await body.readRest();
  signal.throwIfAborted();
  await admission.verifySignature(signal);
  signal.throwIfAborted();
  await admission.markSent();
}
