import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BridgeMetrics } from '../observability/metrics.js';

export interface MetricsRoutesOptions {
  metrics: BridgeMetrics;
}

export async function metricsRoutes(app: FastifyInstance, { metrics }: MetricsRoutesOptions): Promise<void> {
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/** Counts every response by route template (never the raw URL: names would explode the label set). */
export function countResponse(metrics: BridgeMetrics, request: FastifyRequest, reply: FastifyReply): void {
  metrics.httpResponses.inc({
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    status: String(reply.statusCode),
  });
}
