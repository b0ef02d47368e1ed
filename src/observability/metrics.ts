import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { resetFallbackCount } from '../grpc/reset-call.js';

export type UploadMode = 'multipart' | 'raw' | 'put' | 'import' | 'resumable';
/**
 * How an upload ended; `rejected` is a refusal by the bridge (bad request, too large, capacity, shutdown),
 * `ok_client_gone` a success whose client left after its last byte, `outcome_unknown` a half-closed call
 * the upstream did not answer in time.
 */
export type UploadOutcomeLabel = 'ok' | 'ok_client_gone' | 'client_aborted' | 'malformed' | 'upstream_error' | 'outcome_unknown' | 'rejected' | 'timeout' | 'error';

const CHANNEL_STATES = ['IDLE', 'CONNECTING', 'READY', 'TRANSIENT_FAILURE', 'SHUTDOWN'] as const;

/**
 * Every Prometheus metric the bridge exports, in one registry per app (so
 * several apps in one process, as in tests, do not collide).
 */
export class BridgeMetrics {
  readonly registry = new Registry();

  readonly uploads = new Counter({
    name: 'ignite_bridge_uploads_total',
    help: 'Uploads that reached the upload pipeline, by route, mode and outcome',
    labelNames: ['route', 'mode', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly receivedBytes = new Counter({
    name: 'ignite_bridge_received_bytes_total',
    help: 'Archive bytes received from clients (multipart framing excluded), counted when each upload ends',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: 'ignite_bridge_uploads_in_flight',
    help: 'Uploads currently being streamed',
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'ignite_bridge_upload_duration_seconds',
    help: 'Time from the start of an upload to its end, by mode and outcome',
    labelNames: ['mode', 'outcome'] as const,
    buckets: [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  readonly size = new Histogram({
    name: 'ignite_bridge_upload_size_bytes',
    help: 'Size of the archives stored (uploads that ended ok), by mode',
    labelNames: ['mode'] as const,
    // 64 KiB to 8 GiB, ×4 per bucket.
    buckets: Array.from({ length: 10 }, (_, i) => 65536 * 4 ** i),
    registers: [this.registry],
  });

  readonly upstreamResponses = new Counter({
    name: 'ignite_bridge_upstream_responses_total',
    help: 'gRPC status codes the upstream ended upload calls with (UNAVAILABLE includes failures to connect)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly malformedRequests = new Counter({
    name: 'ignite_bridge_malformed_requests_total',
    help: 'Requests Node\'s HTTP parser refused (bad framing, headers too large or too slow), by the status answered',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly builds = new Counter({
    name: 'ignite_bridge_builds_total',
    help: 'CreateBuild calls the bridge made after storing a context, by outcome (started, not_started, unknown)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly buildDuration = new Histogram({
    name: 'ignite_bridge_build_request_duration_seconds',
    help: 'Time a CreateBuild call took, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly idempotencyRecordFailures = new Counter({
    name: 'ignite_bridge_idempotency_record_failures_total',
    help: 'Outcomes that could not be recorded under their Idempotency-Key (store error, or the claim had lapsed); the client still got its answer',
    registers: [this.registry],
  });

  readonly httpResponses = new Counter({
    name: 'ignite_bridge_http_responses_total',
    help: 'HTTP responses by method, route and status, refusals before the body included',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly resumableResumes = new Counter({
    name: 'ignite_bridge_resumable_resumes_total',
    help: 'PATCHes that resumed a paused resumable upload (an earlier PATCH of it ended before the upload was complete)',
    registers: [this.registry],
  });

  countResumableUploads(size: () => number): void {
    this.sizeGauge('ignite_bridge_resumable_uploads', 'Resumable uploads this replica holds open (receiving or paused), each with its upstream call', size);
  }

  /** The gauge of half-closed calls still awaiting a late answer (they hold upstream streams outside the upload gate). */
  countLateAnswers(size: () => number): void {
    this.sizeGauge('ignite_bridge_late_answers_awaited', 'Half-closed calls whose client got a 504 and whose answer is still awaited (UPSTREAM_OUTCOME_WAIT_MS)', size);
  }

  /** A gauge read from `size` whenever the metrics are scraped. */
  private sizeGauge(name: string, help: string, size: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(size());
      },
    });
  }

  constructor(upstream: { channelState(): string }) {
    collectDefaultMetrics({ register: this.registry });
    let counted = 0;
    new Counter({
      name: 'ignite_bridge_upstream_reset_fallbacks_total',
      help: 'Cancels that could not reset the HTTP/2 stream directly (grpc-js internals changed) and went through grpc-js\'s cancel',
      registers: [this.registry],
      collect() {
        const now = resetFallbackCount();
        this.inc(now - counted);
        counted = now;
      },
    });
    new Gauge({
      name: 'ignite_bridge_upstream_channel_state',
      help: 'The upstream gRPC channel\'s connectivity state: 1 for the current state, 0 for the others',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const current = upstream.channelState();
        for (const state of CHANNEL_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
  }
}
