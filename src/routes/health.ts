import type { FastifyInstance } from 'fastify';
import type { UpstreamClient } from '../grpc/upstream-client.js';
import type { RedisConnection } from '../shared-state/redis-connection.js';
import type { UploadGate } from '../upload/upload-gate.js';

export interface HealthRoutesOptions {
  gate: UploadGate;
  upstream: UpstreamClient;
  /** The shared Redis, when REDIS_URL is set. */
  redis?: RedisConnection | undefined;
}

export async function healthRoutes(app: FastifyInstance, { gate, upstream, redis }: HealthRoutesOptions): Promise<void> {
  // Probes come every few seconds: their request lines would drown the upload logs.
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  // An upstream or Redis outage does not make the bridge unready: that would pull every
  // replica out of the balancer at once and hide our JSON errors behind its 503.
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const ready = gate.accepting;
    reply.code(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'draining',
      uploadsInFlight: gate.inFlight,
      // Asking connects an idle channel, so probes show an unreachable upstream before the first upload does.
      upstream: { target: upstream.target, state: upstream.channelState(true) },
      ...(redis ? { redis: redis.state } : {}),
    };
  });
}
