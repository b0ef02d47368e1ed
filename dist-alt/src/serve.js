import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { UpstreamClient } from './grpc/upstream-client.js';
import { upstreamChannelOptions, upstreamCredentials } from './grpc/upstream-channel.js';
import { startedUp } from './gc-tuning.js';
import { helpText } from './help.js';
import { checkStartup } from './startup-checks.js';
import { serverTls } from './http/server-tls.js';
import { stopOnSignals } from './shutdown.js';
import { tracingSwitch } from './observability/tracing-switch.js';
/** Starts the bridge (see main.ts, the entry point). */
async function main() {
    if (process.argv.includes('--help') || process.argv.includes('-h')) {
        process.stdout.write(helpText());
        return;
    }
    let config;
    let credentials;
    let traces;
    try {
        config = loadConfig();
        checkStartup(config);
        credentials = upstreamCredentials(config);
        serverTls(config);
        traces = tracingSwitch();
    }
    catch (err) {
        if (err instanceof ConfigError) {
            console.error(`ignite-upload-bridge: ${err.message}`);
            process.exit(2);
        }
        throw err;
    }
    // Before the Fastify instance exists (@fastify/otel hooks its creation); off, no OpenTelemetry module is loaded.
    const tracing = traces ? await (await import('./observability/otel.js')).startTracing(traces) : undefined;
    let reference;
    if (!config.grpcTarget) {
        // Loaded only when used: a gRPC server with health and reflection is memory a bridge with a real upstream never needs.
        const { startReferenceUpstream } = await import('./reference-upstream/server.js');
        reference = await startReferenceUpstream({ host: '127.0.0.1', port: 0, dataDir: config.dataDir, token: config.referenceToken });
        config.apiUrl ??= reference.apiUrl;
    }
    const upstream = new UpstreamClient({
        target: config.grpcTarget ?? reference.target,
        credentials,
        channelOptions: upstreamChannelOptions(config),
        responseTimeoutMs: config.upstreamResponseTimeoutMs,
    });
    const app = await buildApp(config, { upstream });
    if (tracing)
        app.addHook('onClose', () => tracing.shutdown());
    await app.listen({ host: config.host, port: config.port });
    startedUp();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const base = `${config.tlsCertFile ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
    app.log.info({
        url: base,
        protocols: config.http2 ? (config.tlsCertFile ? 'HTTP/1.1 and HTTP/2 (ALPN)' : 'HTTP/1.1 and h2c') : 'HTTP/1.1',
        upstream: reference ? `embedded reference upstream on ${reference.target}, storing under ${reference.store.dir}` : config.grpcTarget,
    }, `ignite-upload-bridge listening on ${base}; try: curl -T ctx.tar.gz ${base}/v1/ignite/contexts/`);
    if (!config.apiUrl)
        app.log.info('builds are off: IGNITE_API_URL is not set (it has no default with IGNITE_GRPC_TARGET), so uploads that ask for a build get 400 BUILD_NOT_CONFIGURED');
    stopOnSignals({ app, gate: app.uploadGate, upstream, reference, graceMs: config.shutdownGraceMs, resumableDrainMs: config.redisUrl ? config.resumableDrainMs : undefined, responseTimeoutMs: config.upstreamResponseTimeoutMs });
}
await main();
//# sourceMappingURL=serve.js.map