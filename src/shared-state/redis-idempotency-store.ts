import type { Redis, Result } from 'ioredis';
import { buildOwnerLost, newClaimToken, retryToken, type Claim, type ClaimPhase, type IdempotencyStore, type IdempotentResult } from '../admission/idempotency-store.js';
import { IDEMPOTENCY_PREFIX, replicaClockKey } from './keys.js';
import { DEADLINE_GUARD, type RedisConnection } from './redis-connection.js';
import { BEAT_SCRIPT, type ReplicaHeartbeat } from './replica-heartbeat.js';

/**
 * "build sent" is an `awaiting` entry that carries its `record` (the stored
 * context): the previous version reads it as "awaiting an answer" (409) or,
 * its owner gone, "outcome unknown", never as free. A finished record keeps a
 * `token` only while its build may be retried; the previous version reads it
 * as done (its fingerprint, which names the build, never matches a retry
 * without one: 422).
 */
type Stored =
  | { state: ClaimPhase; token: string; sent?: true; owner?: string; record?: IdempotentResult }
  | { state: 'done'; record: IdempotentResult; token?: string }
  | { state: 'unknown' };

// Every script writes, so each starts with the deadline guard; its deadline is the last ARGV.

/** SET NX PX, answering what is there when the key is taken: one round trip, atomic. */
const CLAIM = `${DEADLINE_GUARD}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`;

/** The key's entry when it holds a live claim with this token (finished records carry none, but one whose build may be retried), else nil. */
const HELD = `
local function held(key, token)
  local value = redis.call('GET', key)
  if not value then return nil end
  local ok, entry = pcall(cjson.decode, value)
  if ok and type(entry) == 'table' and entry.token == token then return entry end
  return nil
end
`;

/** Complete, mark unknown: replace the value and its expiry, only for the holder of the token. */
const REPLACE_IF_HELD = `${DEADLINE_GUARD}${HELD}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/** A lease renewal: never over "sent", whose lifetime no heartbeat may shorten. */
const RENEW_IF_HELD = `${DEADLINE_GUARD}${HELD}
local entry = held(KEYS[1], ARGV[1])
if not entry or entry.sent then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * KEYS: the key, the owner's heartbeat, the replicas' clock, the owner's beat. ARGV: token,
 * value, lifetime, heartbeat gap, lease and keep. The claim becomes "sent"; the owner beats with it, so it reads alive.
 */
const SEND_IF_HELD = `${DEADLINE_GUARD}${HELD}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local KEYS = { KEYS[2], KEYS[3], KEYS[4] }
local ARGV = { ARGV[4], ARGV[5], ARGV[6] }
${BEAT_SCRIPT}
return 1`;

const DELETE_IF_HELD = `${DEADLINE_GUARD}${HELD}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    igniteClaim(key: string, value: string, leaseMs: number, deadline: number): Result<string | null, Context>;
    igniteReplaceIfHeld(key: string, token: string, value: string, px: number, deadline: number): Result<number, Context>;
    igniteRenewIfHeld(key: string, token: string, value: string, px: number, deadline: number): Result<number, Context>;
    igniteSendIfHeld(key: string, alive: string, clock: string, beat: string, token: string, value: string, px: number, gapMs: number, leaseMs: number, keepMs: number, deadline: number): Result<number, Context>;
    igniteDeleteIfHeld(key: string, token: string, deadline: number): Result<number, Context>;
  }
}

/** Sent as EVALSHA; ioredis falls back to EVAL once after a Redis restart flushed its scripts. */
function defineCommands(client: Redis): void {
  if (typeof (client as Partial<Redis>).igniteSendIfHeld === 'function') return;
  client.defineCommand('igniteClaim', { numberOfKeys: 1, lua: CLAIM });
  client.defineCommand('igniteReplaceIfHeld', { numberOfKeys: 1, lua: REPLACE_IF_HELD });
  client.defineCommand('igniteRenewIfHeld', { numberOfKeys: 1, lua: RENEW_IF_HELD });
  client.defineCommand('igniteSendIfHeld', { numberOfKeys: 4, lua: SEND_IF_HELD });
  client.defineCommand('igniteDeleteIfHeld', { numberOfKeys: 1, lua: DELETE_IF_HELD });
}

const RELEASE_RETRY_MS = 250;

/**
 * Idempotency-Keys in Redis, shared by every replica, with the same answers
 * as the memory store. Every lifetime is a PX on the key (a lease while
 * claimed, UPSTREAM_OUTCOME_WAIT_MS plus IDEMPOTENCY_TTL_MS once sent,
 * IDEMPOTENCY_TTL_MS once finished), so Redis must never evict
 * (`maxmemory-policy noeviction`): a full Redis refuses writes (503), it does
 * not drop live claims. A "sent" key names its owner's process: while that
 * process's heartbeat lives it is awaiting an answer, without it the outcome
 * is unknown.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly ttlMs: number,
    private readonly owner: Pick<ReplicaHeartbeat, 'instance' | 'key' | 'beatKey' | 'gapMs' | 'leaseMs' | 'keepMs' | 'alive'>,
    /** How long a "sent" key is kept: UPSTREAM_OUTCOME_WAIT_MS plus the TTL. */
    private readonly sentMs: number = ttlMs,
  ) {
    defineCommands(redis.client);
  }

  async claim(key: string, leaseMs: number): Promise<Claim> {
    const token = newClaimToken();
    let current: string | null;
    try {
      current = await this.redis.run((c) => c.igniteClaim(IDEMPOTENCY_PREFIX + key, encode({ state: 'in-flight', token }), leaseMs, this.redis.deadline()));
    } catch (err) {
      // The deadline guard keeps a claim that timed out from landing later; should one land anyway
      // (its answer lost on the way back), its request was refused (503): take it back once Redis answers.
      this.takeBack(key, token, Date.now() + leaseMs);
      throw err;
    }
    return current === null ? { state: 'claimed', token } : this.decode(current);
  }

  async peek(key: string): Promise<Claim> {
    const current = await this.redis.run((c) => c.get(IDEMPOTENCY_PREFIX + key));
    return current === null ? { state: 'free' } : this.decode(current);
  }

  async renew(key: string, token: string, leaseMs: number, phase: ClaimPhase): Promise<boolean> {
    const value = encode({ state: phase, token });
    return (await this.redis.run((c) => c.igniteRenewIfHeld(IDEMPOTENCY_PREFIX + key, token, value, leaseMs, this.redis.deadline()))) === 1;
  }

  async markSent(key: string, token: string): Promise<boolean> {
    const value = encode({ state: 'awaiting', token, sent: true, owner: this.owner.instance });
    return (await this.redis.run((c) => c.igniteSendIfHeld(IDEMPOTENCY_PREFIX + key, this.owner.key, replicaClockKey, this.owner.beatKey, token, value, this.sentMs,
      this.owner.gapMs, this.owner.leaseMs, this.owner.keepMs, this.redis.deadline()))) === 1;
  }

  async markBuildSent(key: string, token: string, next: { token: string; record: IdempotentResult }): Promise<boolean> {
    const value = encode({ state: 'awaiting', token: next.token, sent: true, owner: this.owner.instance, record: next.record });
    return (await this.redis.run((c) => c.igniteSendIfHeld(IDEMPOTENCY_PREFIX + key, this.owner.key, replicaClockKey, this.owner.beatKey, token, value, this.sentMs,
      this.owner.gapMs, this.owner.leaseMs, this.owner.keepMs, this.redis.deadline()))) === 1;
  }

  async complete(key: string, token: string, record: IdempotentResult): Promise<boolean> {
    return this.replace(key, token, { state: 'done', record, ...retryToken(record, token) }, this.ttlMs);
  }

  async markUnknown(key: string, token: string): Promise<boolean> {
    return this.replace(key, token, { state: 'unknown' }, this.ttlMs);
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteDeleteIfHeld(IDEMPOTENCY_PREFIX + key, token, this.redis.deadline()))) === 1;
  }

  private async replace(key: string, token: string, value: Stored, px: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteReplaceIfHeld(IDEMPOTENCY_PREFIX + key, token, encode(value), px, this.redis.deadline()))) === 1;
  }

  /** Releases a claim whose command failed, retrying until Redis answers or the claim would have lapsed anyway. */
  private takeBack(key: string, token: string, until: number): void {
    this.release(key, token).catch(() => {
      if (Date.now() + RELEASE_RETRY_MS >= until) return;
      setTimeout(() => this.takeBack(key, token, until), RELEASE_RETRY_MS).unref();
    });
  }

  private async decode(value: string): Promise<Claim> {
    const entry = JSON.parse(value) as Stored;
    switch (entry.state) {
      case 'done': return { state: 'done', record: entry.record, ...entry.token === undefined ? {} : { token: entry.token } };
      case 'unknown': return { state: 'unknown' };
      default:
        if (entry.sent && !(await this.owner.alive(entry.owner ?? ''))) {
          return entry.record ? { state: 'done', record: buildOwnerLost(entry.record) } : { state: 'unknown' };
        }
        return { state: entry.state };
    }
  }
}

const encode = (value: Stored): string => JSON.stringify(value);
