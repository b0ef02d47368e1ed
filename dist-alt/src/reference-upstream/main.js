/**
 * The reference upstream as its own process: `npm run upstream`.
 * Settings: HOST/PORT (default 127.0.0.1:50051), API_PORT (its CreateBuild API; default PORT + 1, or a free port when PORT is 0), IGNITE_DATA_DIR, IGNITE_REFERENCE_TOKEN;
 * TLS: REFERENCE_TLS_CERT_FILE and REFERENCE_TLS_KEY_FILE (PEM) serve TLS; REFERENCE_TLS_CLIENT_CA_FILE also requires client certificates (mTLS).
 * for tests and benchmarks only: REFERENCE_DISCARD=true, REFERENCE_FAULTS (JSON of Faults, e.g.
 * `{"answerDelayMs":2000}` or `{"exitDuringCommit":"between-renames"}`) and
 * REFERENCE_HTTP2_WINDOW_BYTES (HTTP/2 receive window instead of grpc-js's 64 KiB default),
 * REFERENCE_BUILD_FAULTS (JSON of BuildFaults, e.g. `{"status":503}` or `{"delayMs":2000}`).
 * Prints one JSON line `{"listening": "<host:port>", "api": "<url>"}` once it accepts calls.
 */
import { readFileSync } from 'node:fs';
import { startReferenceUpstream } from './server.js';
const file = (env) => (process.env[env] ? readFileSync(process.env[env]) : undefined);
const cert = file('REFERENCE_TLS_CERT_FILE');
const key = file('REFERENCE_TLS_KEY_FILE');
const clientCa = file('REFERENCE_TLS_CLIENT_CA_FILE');
const port = Number(process.env['PORT'] ?? 50051);
const upstream = await startReferenceUpstream({
    host: process.env['HOST'] || '127.0.0.1',
    port,
    dataDir: process.env['IGNITE_DATA_DIR'] || './data',
    token: process.env['IGNITE_REFERENCE_TOKEN'] || undefined,
    discard: process.env['REFERENCE_DISCARD'] === 'true',
    ...(cert && key ? { tls: { cert, key, ...(clientCa ? { clientCa } : {}) } } : {}),
    http2WindowBytes: process.env['REFERENCE_HTTP2_WINDOW_BYTES'] ? Number(process.env['REFERENCE_HTTP2_WINDOW_BYTES']) : undefined,
    faults: process.env['REFERENCE_FAULTS'] ? JSON.parse(process.env['REFERENCE_FAULTS']) : {},
    buildApi: {
        port: process.env['API_PORT'] ? Number(process.env['API_PORT']) : port && port + 1,
        ...(process.env['REFERENCE_BUILD_FAULTS'] ? { faults: JSON.parse(process.env['REFERENCE_BUILD_FAULTS']) } : {}),
    },
});
process.stdout.write(`${JSON.stringify({ listening: upstream.target, api: upstream.apiUrl, dataDir: upstream.store.dir, tls: Boolean(cert && key) })}\n`);
const stop = () => void upstream.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
//# sourceMappingURL=main.js.map