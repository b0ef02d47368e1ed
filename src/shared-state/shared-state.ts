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
      idempotency: new MemoryIdempotencyStore(config.idempotencyTtlMs, config.idempotencyMaxKeys),
      imports: new ImportJobs(),
      close: async () => {},
    };
  }
  // Loaded only with REDIS_URL: ioredis is a few MiB of every process's memory.
  const [{ RedisConnection }, { RedisIdempotencyStore }, { RedisImportJobs }, { RedisResumableRecords }] = await Promise.all([
    import('./redis-connection.js'), import('./redis-idempotency-store.js'), import('./redis-import-jobs.js'), import('./redis-resumable-records.js'),
  ]);
  const redis = new RedisConnection(config.redisUrl, log);
  // An import's heartbeat lease is a claim's: the same silence after which a live upload is given up.
  const imports = new RedisImportJobs(redis, claimLeaseMs(config), log);
  return {
    idempotency: new RedisIdempotencyStore(redis, config.idempotencyTtlMs),
    imports,
    resumableRecords: new RedisResumableRecords(redis),
    redis,
    close: async () => {
      imports.close();
      await redis.close();
    },
  };
}
