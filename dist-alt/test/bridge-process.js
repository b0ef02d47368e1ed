import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReferenceUpstream } from '../src/reference-upstream/server.js';
import { RedisServer } from './redis-server.js';
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
/**
 * `node dist/src/main.js` (or another build's `main`, e.g. the previous version's) on PORT=0;
 * resolves with its URL from the "listening" log line. Killed after the test.
 */
export async function spawnBridge(t, env, main = MAIN) {
    const child = spawn(process.execPath, [main], {
        env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
        if (child.exitCode === null && child.signalCode === null)
            child.kill('SIGKILL');
    });
    const logs = [];
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise((resolve, reject) => {
        let pending = '';
        child.stdout.on('data', (data) => {
            pending += data.toString();
            for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
                const line = pending.slice(0, nl);
                pending = pending.slice(nl + 1);
                logs.push(line);
                try {
                    const entry = JSON.parse(line);
                    if (entry.url)
                        resolve(entry.url);
                }
                catch { /* not a log line */ }
            }
        });
        child.stderr.on('data', (data) => logs.push(data.toString()));
        void exited.then((code) => reject(new Error(`the bridge exited (${code}) before listening:\n${logs.join('\n')}`)));
    });
    const warnings = () => logs.flatMap((line) => {
        try {
            const entry = JSON.parse(line);
            return entry.level >= 40 ? [entry] : [];
        }
        catch {
            return [];
        }
    });
    return { child, url, logs, exited, warnings };
}
export async function startReplicas(env = {}, referenceOptions = {}) {
    const cleanups = [];
    const scope = { after: (fn) => { cleanups.push(fn); } };
    const redis = await RedisServer.start();
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-replicas-'));
    const reference = await startReferenceUpstream({ dataDir, ...referenceOptions });
    cleanups.push(() => redis.stop(), () => reference.close(), () => rm(dataDir, { recursive: true, force: true }));
    const shared = { REDIS_URL: redis.url, IGNITE_GRPC_TARGET: reference.target, ...env };
    const [a, b] = await Promise.all([spawnBridge(scope, shared), spawnBridge(scope, shared)]);
    return {
        redis, reference, env: shared, a, b,
        close: async () => {
            for (const cleanup of cleanups.reverse())
                await cleanup();
        },
    };
}
//# sourceMappingURL=bridge-process.js.map