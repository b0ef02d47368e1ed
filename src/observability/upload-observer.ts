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
 * structured log line per upload, which is also its request's line. It never sees request headers, so neither
 * `Authorization` nor a token can reach the log.
 */
export class UploadObserver {
  constructor(private readonly metrics: BridgeMetrics) {}

  /**
   * With `reply`, a success is logged once the answer went out or the client
   * was found gone (`ok_client_gone`: the upload still counts, the client left
   * after its last byte). The upload's span is a child of the request's, or
   * of `parent` (a resumable upload's creation).
   */
  async observe<T extends { contextId: string }>(
    request: FastifyRequest,
    run: (watch: UploadWatch) => Promise<T>,
    mode: UploadMode = uploadMode(request),
    reply?: FastifyReply,
    parent?: string,
  ): Promise<T> {
    const started = performance.now();
    markRequestLogged(request);
    let name: string | undefined;
    let archive: Readonly<ReceivedArchive> | undefined;
    let span = NO_SPAN;
    const watch: UploadWatch = (n, a) => {
      name = n;
      archive = a;
      if (tracing.on) span = tracing.start('upload', { parent, attributes: { 'ignite.upload.mode': mode, 'ignite.upload.name': n } });
      return span;
    };
    this.metrics.inFlight.inc();
    const end = (outcome: UploadOutcomeLabel, upstreamCode: string | undefined, extra: Record<string, unknown>) => {
      span.set({
        'ignite.upload.archive_type': archive?.contentType,
        'ignite.upload.bytes': archive?.bytes ?? 0,
        'ignite.upload.chunks': archive?.chunks ?? 0,
        'ignite.upload.outcome': outcome,
        'ignite.context_id': typeof extra['contextId'] === 'string' ? extra['contextId'] : undefined,
      });
      span.end();
      this.metrics.inFlight.dec();
      const seconds = (performance.now() - started) / 1000;
      const bytes = archive?.bytes ?? 0;
      this.metrics.uploads.inc({ route: request.routeOptions.url ?? request.url, mode, outcome });
      this.metrics.duration.observe({ mode, outcome }, seconds);
      this.metrics.receivedBytes.inc({ mode }, bytes);
      if (outcome === 'ok' || outcome === 'ok_client_gone') this.metrics.size.observe({ mode }, bytes);
      if (upstreamCode) this.metrics.upstreamResponses.inc({ code: upstreamCode });
      request.log.info({
        req: request,
        upload: {
          name,
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
    };
    try {
      const result = await run(watch);
      const gone = () => reply !== undefined && (!reply.raw.writableFinished || clientLeft(request.raw));
      const ok = () => end(gone() ? 'ok_client_gone' : 'ok', 'OK', { contextId: result.contextId });
      if (reply && !reply.raw.destroyed) reply.raw.once('close', ok);
      else ok();
      return result;
    } catch (err) {
      const error = toBridgeError(err);
      span.fail(error);
      end(outcomeOf(error), upstreamCodeOf(error), { code: error.code, status: error.httpStatus });
      throw err;
    }
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
const NO_ROOM: readonly UnavailableReason[] = ['OVER_CAPACITY', 'SHARED_STATE_UNAVAILABLE', 'SHUTDOWN_CANCELLED'];

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
