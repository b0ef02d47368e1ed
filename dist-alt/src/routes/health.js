export async function healthRoutes(app, { gate, upstream, redis }) {
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
//# sourceMappingURL=health.js.map