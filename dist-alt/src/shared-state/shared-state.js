import { ImportJobs } from '../imports/import-jobs.js';
import { claimLeaseMs } from '../admission/claim-lease.js';
import { MemoryIdempotencyStore } from '../admission/idempotency-store.js';
export async function openSharedState(config, log) {
    if (!config.redisUrl) {
        return {
            idempotency: new MemoryIdempotencyStore(config.idempotencyTtlMs, config.idempotencyMaxKeys, Date.now, sentKeyMs(config)),
            imports: new ImportJobs(),
            close: async () => { },
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
const sentKeyMs = (config) => config.upstreamOutcomeWaitMs + config.idempotencyTtlMs;
//# sourceMappingURL=shared-state.js.map