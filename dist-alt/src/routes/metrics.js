export async function metricsRoutes(app, { metrics }) {
    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
        reply.type(metrics.registry.contentType);
        return metrics.registry.metrics();
    });
}
/** Counts every response by route template (never the raw URL: names would explode the label set). */
export function countResponses(app, metrics) {
    app.addHook('onResponse', async (request, reply) => {
        metrics.httpResponses.inc({
            method: request.method,
            route: request.routeOptions.url ?? 'unmatched',
            status: String(reply.statusCode),
        });
    });
}
//# sourceMappingURL=metrics.js.map