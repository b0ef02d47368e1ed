import { performance } from 'node:perf_hooks';
import { clientLeft } from '../http/http2-request.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ClientGoneError, grpcCodeName, OutcomeLostError, OutcomeUnknownError, RequestError, toBridgeError, UnavailableError, UpstreamError,
  type BridgeError, type UnavailableReason,
} from '../errors.js';
import type { ReceivedArchive } from '../upload/stream-upload.js';
import type { BridgeMetrics, UploadMode, UploadOutcomeLabel } from './metrics.js';
import { NO_SPAN, tracing, type TraceSpan } from './tracing.js';
import { markRequestLogged } from './logger.js';

/**
 * Given to the upload pipeline, which hands over its live counters once the
 * upload starts; answers the upload's span, the parent of its upstream call.
 */
export type UploadWatch = (name: string, archive: Readonly<ReceivedArchive>) => TraceSpan;

/**
 * Sees every upload from start to end: feeds the metrics and writes the one
 * structured log line per upload, which is also its request's line. It
 * never sees request headers, so neither `Authorization` nor a token can
 * reach the log.
 */
export class UploadObserver {
  constructor(private readonly metrics: BridgeMetrics) {}

  /**
   * Starts watching one upload; its end is `succeeded` or `failed`, called
   * once by whoever runs the upload (the pipeline, with its answer or its
   * error). The upload's span is a child of the request's, or of `parent` (a
   * resumable upload's creation).
   */
  begin(request: FastifyRequest, mode: UploadMode = uploadMode(request), parent?: string): UploadObservation {
    this.metrics.inFlight.inc();
    markRequestLogged(request);
    return new UploadObservation(this.metrics, request, mode, parent);
  }

  /** `begin`, around `run`. */
  async observe<T extends { contextId: string }>(
    request: FastifyRequest,
    run: (watch: UploadWatch) => Promise<T>,
    mode: UploadMode = uploadMode(request),
    parent?: string,
  ): Promise<T> {
    const observation = this.begin(request, mode, parent);
    try {
      const result = await run(observation.watch);
      observation.succeeded(result.contextId);
      return result;
    } catch (err) {
      observation.failed(err);
      throw err;
    }
  }
}

/** One upload, from its admission to its answer: metrics, its span and its one log line. */
export class UploadObservation {
  private readonly started = performance.now();
  private name: string | undefined;
  private archive: Readonly<ReceivedArchive> | undefined;
  private span = NO_SPAN;
  private contextId = '';
  private reply: FastifyReply | undefined;

  constructor(
    private readonly metrics: BridgeMetrics,
    private readonly request: FastifyRequest,
    private readonly mode: UploadMode,
    private readonly parent: string | undefined,
  ) {}

  /** Given to the upload, which hands over its live counters once it starts; answers the upload's span. */
  readonly watch: UploadWatch = (name, archive) => {
    this.name = name;
    this.archive = archive;
    if (tracing.on) this.span = tracing.start('upload', { parent: this.parent, attributes: { 'ignite.upload.mode': this.mode, 'ignite.upload.name': name } });
    return this.span;
  };

  /**
   * Stored. With `reply`, logged once the answer went out or the client was
   * found gone (`ok_client_gone`: the upload still counts, the client left
   * after its last byte).
   */
  succeeded(contextId: string, reply?: FastifyReply): void {
    this.contextId = contextId;
    this.reply = reply;
    if (reply && !reply.raw.destroyed) reply.raw.once('close', this.answered);
    else this.answered();
  }

  failed(err: unknown): void {
    const error = toBridgeError(err);
    this.span.fail(error);
    this.end(outcomeOf(error), upstreamCodeOf(error), { code: error.code, status: error.httpStatus });
  }

  private readonly answered = (): void => {
    const { reply, request } = this;
    const gone = reply !== undefined && (!reply.raw.writableFinished || clientLeft(request.raw));
    this.end(gone ? 'ok_client_gone' : 'ok', 'OK', { contextId: this.contextId });
  };

  private end(outcome: UploadOutcomeLabel, upstreamCode: string | undefined, extra: Record<string, unknown>): void {
    const { archive, metrics, mode, request } = this;
    this.span.set({
      'ignite.upload.archive_type': archive?.contentType,
      'ignite.upload.bytes': archive?.bytes ?? 0,
      'ignite.upload.chunks': archive?.chunks ?? 0,
      'ignite.upload.outcome': outcome,
      'ignite.context_id': typeof extra['contextId'] === 'string' ? extra['contextId'] : undefined,
    });
    this.span.end();
    metrics.inFlight.dec();
    const seconds = (performance.now() - this.started) / 1000;
    const bytes = archive?.bytes ?? 0;
    metrics.uploads.inc({ route: request.routeOptions.url ?? request.url, mode, outcome });
    metrics.duration.observe({ mode, outcome }, seconds);
    metrics.receivedBytes.inc({ mode }, bytes);
    if (outcome === 'ok' || outcome === 'ok_client_gone') metrics.size.observe({ mode }, bytes);
    if (upstreamCode) metrics.upstreamResponses.inc({ code: upstreamCode });
    request.log.info({
      req: request,
      upload: {
        name: this.name,
        mode,
        contentType: archive?.contentType,
        bytes,
        chunks: archive?.chunks ?? 0,
        durationMs: Math.round(seconds * 1000),
        mbPerSecond: seconds > 0 ? Math.round((bytes / 1e6 / seconds) * 100) / 100 : 0,
        outcome,
        upstreamCode,
        ...extra,
      },
    }, `upload ${outcome}`);
  }
}

function uploadMode(request: FastifyRequest): UploadMode {
  if (request.method === 'PUT') return 'put';
  return request.isMultipart() ? 'multipart' : 'raw';
}

/** The upstream's own status, relayed (Errors.upstream()); anything else the bridge decided itself. */
function fromUpstream(error: BridgeError): boolean {
  return error instanceof UpstreamError && error.upstreamCode !== undefined;
}

/** Refusals that say nothing about the upload itself: the bridge had no room for it. */
const NO_ROOM: readonly UnavailableReason[] = ['OVER_CAPACITY', 'SHUTTING_DOWN', 'SHUTDOWN_CANCELLED', 'SHARED_STATE_UNAVAILABLE'];

function outcomeOf(error: BridgeError): UploadOutcomeLabel {
  if (error instanceof ClientGoneError && error.code === 'CLIENT_ABORTED') return 'client_aborted';
  if (error instanceof RequestError && error.code === 'MALFORMED_HTTP') return 'malformed';
  if (error instanceof OutcomeUnknownError || error instanceof OutcomeLostError) return 'outcome_unknown';
  if ((error instanceof ClientGoneError && error.code === 'UPLOAD_IDLE_TIMEOUT') || (error instanceof UpstreamError && error.code === 'UPSTREAM_TIMEOUT')) return 'timeout';
  if (fromUpstream(error) || (error instanceof UpstreamError && error.code === 'UPSTREAM_SIZE_MISMATCH')) return 'upstream_error';
  const refusal = error instanceof UnavailableError && NO_ROOM.includes(error.code);
  return error.httpStatus >= 500 && !refusal ? 'error' : 'rejected';
}

function upstreamCodeOf(error: BridgeError): string | undefined {
  if (fromUpstream(error)) return grpcCodeName[error.grpcCode];
  // The upstream answered OK, with a size the bridge does not trust.
  if (error instanceof UpstreamError && error.code === 'UPSTREAM_SIZE_MISMATCH') return 'OK';
  return undefined;
}
