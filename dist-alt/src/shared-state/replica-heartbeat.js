import { randomUUID } from 'node:crypto';
import { replicaAliveKey } from './keys.js';
import { DEADLINE_GUARD } from './redis-connection.js';
/** KEYS: alive. ARGV: lease, deadline. */
const BEAT = `${DEADLINE_GUARD}
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1`;
/**
 * This process, as other replicas see it: a key that lives while the process
 * does (PX = `leaseMs`, renewed every third of it). A record that names its
 * owner (an Idempotency-Key's "sent" state) outlives the process; whether
 * anyone still waits for its answer is read here, not from the record's TTL.
 */
export class ReplicaHeartbeat {
    redis;
    leaseMs;
    instance = randomUUID();
    timer;
    onReady = () => void this.beat();
    constructor(redis, leaseMs) {
        this.redis = redis;
        this.leaseMs = leaseMs;
        if (typeof redis.client.igniteReplicaBeat !== 'function') {
            redis.client.defineCommand('igniteReplicaBeat', { numberOfKeys: 1, lua: BEAT });
        }
        this.timer = setInterval(this.onReady, Math.floor(leaseMs / 3));
        this.timer.unref();
        redis.client.on('ready', this.onReady);
        if (redis.client.status === 'ready')
            this.onReady();
    }
    get key() {
        return replicaAliveKey(this.instance);
    }
    /** Whether the replica `instance` is alive (its heartbeat key exists). */
    async alive(instance) {
        return (await this.redis.run((c) => c.exists(replicaAliveKey(instance)))) === 1;
    }
    /** At shutdown, once nothing is awaited any more: records this process still names read as ownerless at once. */
    async stop() {
        clearInterval(this.timer);
        this.redis.client.removeListener('ready', this.onReady);
        await this.redis.run((c) => c.del(this.key)).catch(() => { });
    }
    async beat() {
        // Unreachable for now: the next beat tries again; past the lease, others read this replica as gone.
        await this.redis.run((c) => c.igniteReplicaBeat(this.key, this.leaseMs, this.redis.deadline())).catch(() => { });
    }
}
//# sourceMappingURL=replica-heartbeat.js.map