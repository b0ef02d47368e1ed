import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type UploadMode = 'multipart' | 'raw' | 'put' | 'import';
/** How an upload ended; `rejected` is a refusal by the bridge (bad request, too large, capacity, shutdown). */
export type UploadOutcomeLabel = 'ok' | 'client_aborted' | 'upstream_error' | 'rejected' | 'timeout' | 'error';

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

  readonly httpResponses = new Counter({
    name: 'ignite_bridge_http_responses_total',
    help: 'HTTP responses by method, route and status, refusals before the body included',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  constructor(upstream: { channelState(): string }) {
    collectDefaultMetrics({ register: this.registry });
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
