import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import { ImportJobs, type ImportJobStore } from '../imports/import-jobs.js';
import { claimLeaseMs } from '../admission/claim-lease.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from '../admission/idempotency-store.js';
import type { RedisConnection } from './redis-connection.js';
import type { ResumableRecordStore } from '../resumable/resumable-records.js';

/** What replicas must share: in Redis with REDIS_URL, else in this process's memory (one replica). */
export interface SharedState {
  idempotency: IdempotencyStore;
  imports: ImportJobStore;
  /** Resumable uploads' records and owners; absent in memory (one replica holds every upload it creates). */
  resumableRecords?: ResumableRecordStore;
  /** The Redis behind them, whose state /readyz reports; absent in memory. */
  redis?: RedisConnection;
  close(): Promise<void>;
}

export async function openSharedState(config: Config, log: FastifyBaseLogger): Promise<SharedState> {
  if (!config.redisUrl) {
    return {
      idempotency: new MemoryIdempotencyStore(config.idempotencyTtlMs, config.idempotencyMaxKeys, Date.now, sentKeyMs(config)),
      imports: new ImportJobs(),
      close: async () => {},
    };
  }
  // Loaded only with REDIS_URL: ioredis is a few MiB of every process's memory.
  const [{ RedisConnection }, { RedisIdempotencyStore }, { RedisImportJobs }, { RedisResumableRecords }, { ReplicaHeartbeat }] = await Promise.all([
    import('./redis-connection.js'), import('./redis-idempotency-store.js'), import('./redis-import-jobs.js'), import('./redis-resumable-records.js'),
    import('./replica-heartbeat.js'),
  ]);
  const redis = new RedisConnection(config.redisUrl, log);
  // Whether the owner of a "sent" Idempotency-Key still waits for its answer: gone within a lease of its death.
  const heartbeat = new ReplicaHeartbeat(redis, claimLeaseMs(config));
  // An import's heartbeat lease is a claim's: the same silence after which a live upload is given up.
  const imports = new RedisImportJobs(redis, claimLeaseMs(config), log);
  return {
    idempotency: new RedisIdempotencyStore(redis, config.idempotencyTtlMs, heartbeat, sentKeyMs(config)),
    imports,
    resumableRecords: new RedisResumableRecords(redis),
    redis,
    close: async () => {
      imports.close();
      await heartbeat.stop();
      await redis.close();
    },
  };
}

/** How long an Idempotency-Key stays "sent": the wait for a late answer, then as long as a finished key. */
const sentKeyMs = (config: Pick<Config, 'upstreamOutcomeWaitMs' | 'idempotencyTtlMs'>): number =>
  config.upstreamOutcomeWaitMs + config.idempotencyTtlMs;
