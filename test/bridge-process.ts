import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReferenceUpstream, type ReferenceUpstream, type ReferenceUpstreamOptions } from '../src/reference-upstream/server.js';
import { RedisServer } from './redis-server.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

/** The real entry point as its own process: a replica a test can SIGKILL. */
export interface BridgeProcess {
  child: ChildProcess;
  url: string;
  /** Its log, one JSON line each (stdout), plus anything on stderr. */
  logs: string[];
  exited: Promise<number | null>;
  /** Log lines at warn (40) or above. */
  warnings(): Array<{ level: number; msg: string }>;
}

/**
 * `node dist/src/main.js` (or another build's `main`, e.g. the previous version's) on PORT=0;
 * resolves with its URL from the "listening" log line. Killed after the test.
 */
export async function spawnBridge(t: { after(fn: () => unknown): void }, env: Record<string, string>, main = MAIN): Promise<BridgeProcess> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (data: Buffer) => {
      pending += data.toString();
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { url?: string };
          if (entry.url) resolve(entry.url);
        } catch { /* not a log line */ }
      }
    });
    child.stderr!.on('data', (data: Buffer) => logs.push(data.toString()));
    void exited.then((code) => reject(new Error(`the bridge exited (${code}) before listening:\n${logs.join('\n')}`)));
  });
  const warnings = () => logs.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { level: number; msg: string };
      return entry.level >= 40 ? [entry] : [];
    } catch {
      return [];
    }
  });
  return { child, url, logs, exited, warnings };
}

/** Two bridge processes sharing one real Redis and one reference upstream: replicas behind a balancer. */
export interface Replicas {
  redis: RedisServer;
  reference: ReferenceUpstream;
  /** The replicas' environment (REDIS_URL, the upstream), for starting more. */
  env: Record<string, string>;
  a: BridgeProcess;
  b: BridgeProcess;
  /** Stops the bridges, the upstream and Redis, and removes the data dir. */
  close(): Promise<void>;
}

export async function startReplicas(env: Record<string, string> = {}, referenceOptions: Partial<ReferenceUpstreamOptions> = {}): Promise<Replicas> {
  const cleanups: Array<() => unknown> = [];
  const scope = { after: (fn: () => unknown) => { cleanups.push(fn); } };
  const redis = await RedisServer.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'bridge-replicas-'));
  const reference = await startReferenceUpstream({ dataDir, ...referenceOptions });
  cleanups.push(() => redis.stop(), () => reference.close(), () => rm(dataDir, { recursive: true, force: true }));
  const shared = { REDIS_URL: redis.url, IGNITE_GRPC_TARGET: reference.target, ...env };
  const [a, b] = await Promise.all([spawnBridge(scope, shared), spawnBridge(scope, shared)]);
  return {
    redis, reference, env: shared, a, b,
    close: async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
