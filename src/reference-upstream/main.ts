/**
 * The reference upstream as its own process: `npm run upstream`.
 * Settings: HOST/PORT (default 127.0.0.1:50051), IGNITE_DATA_DIR, IGNITE_REFERENCE_TOKEN.
 * Prints one JSON line `{"listening": "<host:port>"}` once it accepts calls.
 */
import { startReferenceUpstream } from './server.js';

const upstream = await startReferenceUpstream({
  host: process.env['HOST'] || '127.0.0.1',
  port: Number(process.env['PORT'] ?? 50051),
  dataDir: process.env['IGNITE_DATA_DIR'] || './data',
  token: process.env['IGNITE_REFERENCE_TOKEN'] || undefined,
});
process.stdout.write(`${JSON.stringify({ listening: upstream.target, dataDir: upstream.store.dir })}\n`);
const stop = () => void upstream.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
