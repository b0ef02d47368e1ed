import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import { replicaAliveKey, replicaBeatKey, replicaClockKey } from './keys.js';
import { DEADLINE_GUARD, type RedisConnection } from './redis-connection.js';

/** Redis's clock in ms, in a script that starts with DEADLINE_GUARD. */
const NOW = `local now = tonumber(deadline_now[1]) * 1000 + math.floor(tonumber(deadline_now[2]) / 1000)
`;

/**
 * KEYS: alive, clock, beat. ARGV: gap, lease, keep, deadline. The alive key
 * lives a lease (what earlier releases read: EXISTS); the beat key holds the
 * beat's time on Redis's clock and lives `keep`. The clock hash keeps when any
 * replica last beat, and when beats resumed after a gap longer than `gap`
 * (Redis stalled or down, or every replica was): until a lease after that,
 * nobody's beat is taken as missing.
 */
export const BEAT_SCRIPT = `${NOW}
local last = tonumber(redis.call('HGET', KEYS[2], 'last'))
if not last or now - last > tonumber(ARGV[1]) then redis.call('HSET', KEYS[2], 'resumed', now) end
redis.call('HSET', KEYS[2], 'last', now)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SET', KEYS[3], now, 'PX', ARGV[3])
`;

const BEAT = `${DEADLINE_GUARD}${BEAT_SCRIPT}return 1`;

/** KEYS: beat, clock. ARGV: lease. Dead: no beat key (stopped), or no beat for a lease while beats were landing for a lease. */
const ALIVE = `local deadline_now = redis.call('TIME')
${NOW}
local beat = tonumber(redis.call('GET', KEYS[1]))
if not beat then return 0 end
local lease = tonumber(ARGV[1])
if now - beat <= lease then return 1 end
local resumed = tonumber(redis.call('HGET', KEYS[2], 'resumed') or '0')
if now - resumed <= lease then return 1 end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    igniteReplicaBeat(alive: string, clock: string, beat: string, gapMs: number, leaseMs: number, keepMs: number, deadline: number): Result<number, Context>;
    igniteReplicaAlive(beat: string, clock: string, leaseMs: number): Result<number, Context>;
  }
}

/**
 * This process, as other replicas see it: a key holding the time of its last
 * beat on Redis's clock (and one living a lease, for earlier releases),
 * renewed every third of `leaseMs` and at once when
 * Redis answers again after a stall. A record that names its owner (an
 * Idempotency-Key's "sent" state) outlives the process; whether anyone still
 * waits for its answer is read here. The beat is missing, so the owner dead,
 * only once it is over a lease old while other beats kept landing for a
 * lease: a Redis stall that let every lease run out reads as nobody's death.
 */
export class ReplicaHeartbeat {
  readonly instance = randomUUID();
  private readonly timer: NodeJS.Timeout;
  private readonly onReady = () => void this.beat();

  constructor(
    private readonly redis: RedisConnection,
    readonly leaseMs: number,
  ) {
    if (typeof (redis.client as Partial<Redis>).igniteReplicaBeat !== 'function') {
      redis.client.defineCommand('igniteReplicaBeat', { numberOfKeys: 3, lua: BEAT });
      redis.client.defineCommand('igniteReplicaAlive', { numberOfKeys: 2, lua: ALIVE });
    }
    this.timer = setInterval(this.onReady, this.intervalMs);
    this.timer.unref();
    redis.client.on('ready', this.onReady);
    redis.onRecovered(this.onReady);
    if (redis.client.status === 'ready') this.onReady();
  }

  get key(): string {
    return replicaAliveKey(this.instance);
  }

  get beatKey(): string {
    return replicaBeatKey(this.instance);
  }

  /** How long a beat (and the clock) is kept: well past the lease, so a long stall does not erase live replicas' beats. */
  get keepMs(): number {
    return 20 * this.leaseMs;
  }

  /** A gap between any replicas' beats longer than this means beats could not land (every replica beats each interval). */
  get gapMs(): number {
    return Math.floor(this.intervalMs * 1.5);
  }

  /** Whether the replica `instance` is alive (see the class comment). */
  async alive(instance: string): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteReplicaAlive(replicaBeatKey(instance), replicaClockKey, this.leaseMs))) === 1;
  }

  /** At shutdown, once nothing is awaited any more: records this process still names read as ownerless at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.redis.client.removeListener('ready', this.onReady);
    this.redis.offRecovered(this.onReady);
    await this.redis.run((c) => c.del(this.key, this.beatKey)).catch(() => {});
  }

  private get intervalMs(): number {
    return Math.floor(this.leaseMs / 3);
  }

  private async beat(): Promise<void> {
    // Unreachable for now: the next beat tries again.
    await this.redis.run((c) => c.igniteReplicaBeat(this.key, replicaClockKey, this.beatKey, this.gapMs, this.leaseMs, this.keepMs, this.redis.deadline())).catch(() => {});
  }
}
