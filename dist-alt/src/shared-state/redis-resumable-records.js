import { uploadKey } from './keys.js';
import { DEADLINE_GUARD } from './redis-connection.js';
const FIELDS = ['spec', 'expires', 'owner', 'end', 'sent', 'build'];
/**
 * Every script starts with DEADLINE_GUARD and takes the deadline as its last
 * argument: a claim, end or "sent" marker that sat in a stalled Redis past
 * its timeout (its request already answered 503) is refused, never applied.
 */
/** Creation. ARGV: spec, expires, owner ('' for none), lifetime. */
const CREATE = `${DEADLINE_GUARD}
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'expires', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;
/**
 * Claiming and ending an unclaimed record: sets `owner` or `end` (ARGV[1],
 * the value ARGV[2]) only on a record that exists, has neither, and has not
 * expired at ARGV[3] (the caller's clock); its lifetime is then ARGV[4].
 * Answers the fields as they are afterwards.
 */
const SET_IF_OPEN = `${DEADLINE_GUARD}
local v = redis.call('HMGET', KEYS[1], 'spec', 'expires', 'owner', 'end', 'sent', 'build')
if v[1] and not v[3] and not v[4] and tonumber(v[2]) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  v[ARGV[1] == 'owner' and 3 or 4] = ARGV[2]
end
return v`;
/** Compare-and-set on the owner. ARGV: owner JSON, end JSON, lifetime. */
const FINISH = `${DEADLINE_GUARD}
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'end', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;
/** Compare-and-set on the owner, on a record not ended. ARGV: owner JSON, now, lifetime (set once, never renewed). */
const MARK_SENT = `${DEADLINE_GUARD}
local v = redis.call('HMGET', KEYS[1], 'owner', 'end', 'sent')
if v[1] ~= ARGV[1] or v[2] then return 0 end
if not v[3] then
  redis.call('HSET', KEYS[1], 'sent', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1`;
/** Compare-and-set on the owner, on a record neither sent nor ended. ARGV: owner JSON, lifetime. */
const UNCLAIM = `${DEADLINE_GUARD}
local v = redis.call('HMGET', KEYS[1], 'owner', 'end', 'sent')
if v[1] ~= ARGV[1] or v[2] or v[3] then return 0 end
redis.call('HDEL', KEYS[1], 'owner')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;
/**
 * The build step, compare-and-set on the owner. ARGV: owner JSON, step JSON,
 * 'first' (only when no step is recorded yet: "build sent") or 'outcome', lifetime.
 */
const SET_BUILD = `${DEADLINE_GUARD}
local v = redis.call('HMGET', KEYS[1], 'owner', 'build')
if v[1] ~= ARGV[1] then return 0 end
-- A "build sent" that landed though its answer was lost is the same step: written again, not refused.
if ARGV[3] == 'first' and v[2] and v[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'build', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;
function defineCommands(client) {
    if (typeof client.igniteUploadCreate === 'function')
        return;
    client.defineCommand('igniteUploadCreate', { numberOfKeys: 1, lua: CREATE });
    client.defineCommand('igniteUploadSetIfOpen', { numberOfKeys: 1, lua: SET_IF_OPEN });
    client.defineCommand('igniteUploadFinish', { numberOfKeys: 1, lua: FINISH });
    client.defineCommand('igniteUploadMarkSent', { numberOfKeys: 1, lua: MARK_SENT });
    client.defineCommand('igniteUploadUnclaim', { numberOfKeys: 1, lua: UNCLAIM });
    client.defineCommand('igniteUploadSetBuild', { numberOfKeys: 1, lua: SET_BUILD });
}
/**
 * Resumable uploads' records in Redis: one hash per upload (`spec`,
 * `expires`, `owner`, `end`, `sent`, `build`), so claiming and ending touch one field
 * each and Lua never re-encodes JSON. The owner is compared as the exact
 * JSON its replica wrote. A replica of the previous version, which reads
 * neither `sent`, `build` nor the newer kinds of `end`, still sees an owned record.
 */
export class RedisResumableRecords {
    redis;
    constructor(redis) {
        this.redis = redis;
        defineCommands(redis.client);
    }
    async create(record, ttlMs) {
        const owner = record.owner ? ownerJson(record.owner) : '';
        await this.redis.run((c) => c.igniteUploadCreate(uploadKey(record.spec.id), JSON.stringify(record.spec), record.expiresAt, owner, ttlMs, this.redis.deadline()));
    }
    async read(id) {
        return decode(await this.redis.run((c) => c.hmget(uploadKey(id), ...FIELDS)));
    }
    async claim(id, owner, now, ttlMs) {
        return decode(await this.redis.run((c) => c.igniteUploadSetIfOpen(uploadKey(id), 'owner', ownerJson(owner), now, ttlMs, this.redis.deadline())));
    }
    async endUnclaimed(id, end, now, ttlMs) {
        return decode(await this.redis.run((c) => c.igniteUploadSetIfOpen(uploadKey(id), 'end', JSON.stringify(end), now, ttlMs, this.redis.deadline())));
    }
    async finish(id, owner, end, ttlMs) {
        return (await this.redis.run((c) => c.igniteUploadFinish(uploadKey(id), ownerJson(owner), JSON.stringify(end), ttlMs, this.redis.deadline()))) === 1;
    }
    async markSent(id, owner, now, ttlMs) {
        return (await this.redis.run((c) => c.igniteUploadMarkSent(uploadKey(id), ownerJson(owner), now, ttlMs, this.redis.deadline()))) === 1;
    }
    async markBuildSent(id, owner, step, ttlMs) {
        return (await this.redis.run((c) => c.igniteUploadSetBuild(uploadKey(id), ownerJson(owner), JSON.stringify(step), 'first', ttlMs, this.redis.deadline()))) === 1;
    }
    async finishBuild(id, owner, step, ttlMs) {
        return (await this.redis.run((c) => c.igniteUploadSetBuild(uploadKey(id), ownerJson(owner), JSON.stringify(step), 'outcome', ttlMs, this.redis.deadline()))) === 1;
    }
    async unclaim(id, owner, ttlMs) {
        return (await this.redis.run((c) => c.igniteUploadUnclaim(uploadKey(id), ownerJson(owner), ttlMs, this.redis.deadline()))) === 1;
    }
}
/** One spelling of an owner, so the scripts can compare it as a string. */
const ownerJson = ({ address, instance }) => JSON.stringify({ address, instance });
function decode([spec, expires, owner, end, sent, build]) {
    if (spec === null)
        return undefined;
    const record = { spec: JSON.parse(spec), expiresAt: Number(expires) };
    if (owner !== null)
        record.owner = JSON.parse(owner);
    if (end !== null)
        record.end = JSON.parse(end);
    if (sent !== null)
        record.sentAt = Number(sent);
    if (build !== null)
        record.build = JSON.parse(build);
    return record;
}
//# sourceMappingURL=redis-resumable-records.js.map