import type { Redis, Result } from 'ioredis';
import { newClaimToken, type Claim, type ClaimPhase, type IdempotencyStore, type IdempotentResult } from '../admission/idempotency-store.js';
import { IDEMPOTENCY_PREFIX } from './keys.js';
import type { RedisConnection } from './redis-connection.js';

type Stored =
  | { state: ClaimPhase; token: string }
  | { state: 'done'; record: IdempotentResult }
  | { state: 'unknown' };

/** SET NX PX, answering what is there when the key is taken: one round trip, atomic. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`;

/** True when the key holds a live claim with this token (finished records carry none). */
const HELD = `
local function held(key, token)
  local value = redis.call('GET', key)
  if not value then return false end
  local ok, entry = pcall(cjson.decode, value)
  return ok and type(entry) == 'table' and entry.token == token
end
`;

/** Renew, complete, mark unknown: replace the value and its expiry, only for the holder of the token. */
const REPLACE_IF_HELD = `${HELD}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

const DELETE_IF_HELD = `${HELD}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    igniteClaim(key: string, value: string, leaseMs: number): Result<string | null, Context>;
    igniteReplaceIfHeld(key: string, token: string, value: string, px: number): Result<number, Context>;
    igniteDeleteIfHeld(key: string, token: string): Result<number, Context>;
  }
}

/** Sent as EVALSHA; ioredis falls back to EVAL once after a Redis restart flushed its scripts. */
function defineCommands(client: Redis): void {
  if (typeof (client as Partial<Redis>).igniteClaim === 'function') return;
  client.defineCommand('igniteClaim', { numberOfKeys: 1, lua: CLAIM });
  client.defineCommand('igniteReplaceIfHeld', { numberOfKeys: 1, lua: REPLACE_IF_HELD });
  client.defineCommand('igniteDeleteIfHeld', { numberOfKeys: 1, lua: DELETE_IF_HELD });
}

const RELEASE_RETRY_MS = 250;

/**
 * Idempotency-Keys in Redis, shared by every replica, with the same answers
 * as the memory store. Every lifetime is a PX on the key (a lease while
 * claimed, IDEMPOTENCY_TTL_MS once finished), so Redis must never evict
 * (`maxmemory-policy noeviction`): a full Redis refuses writes (503), it does
 * not drop live claims.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly ttlMs: number,
  ) {
    defineCommands(redis.client);
  }

  async claim(key: string, leaseMs: number): Promise<Claim> {
    const token = newClaimToken();
    let current: string | null;
    try {
      current = await this.redis.run((c) => c.igniteClaim(IDEMPOTENCY_PREFIX + key, encode({ state: 'in-flight', token }), leaseMs));
    } catch (err) {
      // A command that timed out may still run once Redis answers again: that claim's request
      // was refused (503), so take it back as soon as Redis answers, rather than let it stand for a lease.
      this.takeBack(key, token, Date.now() + leaseMs);
      throw err;
    }
    return current === null ? { state: 'claimed', token } : decode(current);
  }

  async peek(key: string): Promise<Claim> {
    const current = await this.redis.run((c) => c.get(IDEMPOTENCY_PREFIX + key));
    return current === null ? { state: 'free' } : decode(current);
  }

  async renew(key: string, token: string, leaseMs: number, phase: ClaimPhase): Promise<boolean> {
    return this.replace(key, token, { state: phase, token }, leaseMs);
  }

  async complete(key: string, token: string, record: IdempotentResult): Promise<boolean> {
    return this.replace(key, token, { state: 'done', record }, this.ttlMs);
  }

  async markUnknown(key: string, token: string): Promise<boolean> {
    return this.replace(key, token, { state: 'unknown' }, this.ttlMs);
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteDeleteIfHeld(IDEMPOTENCY_PREFIX + key, token))) === 1;
  }

  private async replace(key: string, token: string, value: Stored, px: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteReplaceIfHeld(IDEMPOTENCY_PREFIX + key, token, encode(value), px))) === 1;
  }

  /** Releases a claim whose command failed, retrying until Redis answers or the claim would have lapsed anyway. */
  private takeBack(key: string, token: string, until: number): void {
    this.release(key, token).catch(() => {
      if (Date.now() + RELEASE_RETRY_MS >= until) return;
      setTimeout(() => this.takeBack(key, token, until), RELEASE_RETRY_MS).unref();
    });
  }
}

const encode = (value: Stored): string => JSON.stringify(value);

function decode(value: string): Claim {
  const entry = JSON.parse(value) as Stored;
  switch (entry.state) {
    case 'done': return { state: 'done', record: entry.record };
    case 'unknown': return { state: 'unknown' };
    default: return { state: entry.state };
  }
}
