import type { Redis, Result } from 'ioredis';
import { Errors } from '../errors.js';
import type { BuildStep } from '../resumable/resumable-build.js';
import type { RecordEnd, RecordOwner, RecordSpec, ResumableRecordStore, UploadRecord } from '../resumable/resumable-records.js';
import { uploadKey } from './keys.js';
import { DEADLINE_GUARD, type RedisConnection } from './redis-connection.js';

/** The hash's fields, in the order every script answers them. */
type Fields = [spec: string | null, expires: string | null, owner: string | null, end: string | null, sent: string | null, build: string | null, unknown: string | null];
const FIELDS = ['spec', 'expires', 'owner', 'end', 'sent', 'build', 'unknown'] as const;

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
local v = redis.call('HMGET', KEYS[1], 'spec', 'expires', 'owner', 'end', 'sent', 'build', 'unknown')
if v[1] and not v[3] and not v[4] and tonumber(v[2]) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  v[ARGV[1] == 'owner' and 3 or 4] = ARGV[2]
end
return v`;

/**
 * Compare-and-set on the owner. ARGV: owner JSON, field ('end', or 'unknown'
 * for an outcome not known), its JSON, lifetime. An end replaces an unknown outcome.
 */
const FINISH = `${DEADLINE_GUARD}
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if ARGV[2] == 'end' then redis.call('HDEL', KEYS[1], 'unknown') end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    igniteUploadCreate(key: string, spec: string, expires: number, owner: string, ttlMs: number, deadline: number): Result<number, Context>;
    igniteUploadSetIfOpen(key: string, field: 'owner' | 'end', value: string, now: number, ttlMs: number, deadline: number): Result<Fields, Context>;
    igniteUploadFinish(key: string, owner: string, field: 'end' | 'unknown', end: string, ttlMs: number, deadline: number): Result<number, Context>;
    igniteUploadMarkSent(key: string, owner: string, now: number, ttlMs: number, deadline: number): Result<number, Context>;
    igniteUploadUnclaim(key: string, owner: string, ttlMs: number, deadline: number): Result<number, Context>;
    igniteUploadSetBuild(key: string, owner: string, step: string, mode: 'first' | 'outcome', ttlMs: number, deadline: number): Result<number, Context>;
  }
}

function defineCommands(client: Redis): void {
  if (typeof (client as Partial<Redis>).igniteUploadCreate === 'function') return;
  client.defineCommand('igniteUploadCreate', { numberOfKeys: 1, lua: CREATE });
  client.defineCommand('igniteUploadSetIfOpen', { numberOfKeys: 1, lua: SET_IF_OPEN });
  client.defineCommand('igniteUploadFinish', { numberOfKeys: 1, lua: FINISH });
  client.defineCommand('igniteUploadMarkSent', { numberOfKeys: 1, lua: MARK_SENT });
  client.defineCommand('igniteUploadUnclaim', { numberOfKeys: 1, lua: UNCLAIM });
  client.defineCommand('igniteUploadSetBuild', { numberOfKeys: 1, lua: SET_BUILD });
}

/**
 * Resumable uploads' records in Redis: one hash per upload (`spec`,
 * `expires`, `owner`, `end`, `sent`, `build`, `unknown`), so claiming and ending touch one field
 * each and Lua never re-encodes JSON. The owner is compared as the exact
 * JSON its replica wrote. A replica of the previous version reads neither
 * `sent`, `build` nor `unknown`, and only two kinds of `end` (an answer, or
 * gone): an unknown outcome leaves `end` unset, so it forwards to the owner
 * (which answers 423); a termination is also written as "gone" (it answers
 * 410); and a spec carries its `capKey` too.
 */
export class RedisResumableRecords implements ResumableRecordStore {
  constructor(private readonly redis: RedisConnection) {
    defineCommands(redis.client);
  }

  async create(record: UploadRecord, ttlMs: number): Promise<void> {
    const owner = record.owner ? ownerJson(record.owner) : '';
    await this.redis.run((c) => c.igniteUploadCreate(uploadKey(record.spec.id), JSON.stringify(legacySpec(record.spec)), record.expiresAt, owner, ttlMs, this.redis.deadline()));
  }

  async read(id: string): Promise<UploadRecord | undefined> {
    return decode(await this.redis.run((c) => c.hmget(uploadKey(id), ...FIELDS)) as Fields);
  }

  async claim(id: string, owner: RecordOwner, now: number, ttlMs: number): Promise<UploadRecord | undefined> {
    return decode(await this.redis.run((c) => c.igniteUploadSetIfOpen(uploadKey(id), 'owner', ownerJson(owner), now, ttlMs, this.redis.deadline())));
  }

  async endUnclaimed(id: string, end: RecordEnd, now: number, ttlMs: number): Promise<UploadRecord | undefined> {
    return decode(await this.redis.run((c) => c.igniteUploadSetIfOpen(uploadKey(id), 'end', encodeEnd(end), now, ttlMs, this.redis.deadline())));
  }

  async finish(id: string, owner: RecordOwner, end: RecordEnd, ttlMs: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteUploadFinish(uploadKey(id), ownerJson(owner), 'unknown' in end ? 'unknown' : 'end', encodeEnd(end), ttlMs, this.redis.deadline()))) === 1;
  }

  async markSent(id: string, owner: RecordOwner, now: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteUploadMarkSent(uploadKey(id), ownerJson(owner), now, ttlMs, this.redis.deadline()))) === 1;
  }

  async markBuildSent(id: string, owner: RecordOwner, step: BuildStep, ttlMs: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteUploadSetBuild(uploadKey(id), ownerJson(owner), JSON.stringify(step), 'first', ttlMs, this.redis.deadline()))) === 1;
  }

  async finishBuild(id: string, owner: RecordOwner, step: BuildStep, ttlMs: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteUploadSetBuild(uploadKey(id), ownerJson(owner), JSON.stringify(step), 'outcome', ttlMs, this.redis.deadline()))) === 1;
  }

  async unclaim(id: string, owner: RecordOwner, ttlMs: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteUploadUnclaim(uploadKey(id), ownerJson(owner), ttlMs, this.redis.deadline()))) === 1;
  }
}

/** One spelling of an owner, so the scripts can compare it as a string. */
const ownerJson = ({ address, instance }: RecordOwner): string => JSON.stringify({ address, instance });

/** The previous version counts an upload against `capKey`: its credential scope, or its client address when anonymous. */
function legacySpec(spec: RecordSpec): RecordSpec & { capKey: string } {
  const capKey = spec.scope === 'anonymous' ? spec.capKeys[0] ?? 'anonymous' : spec.scope;
  return { ...spec, capKey };
}

/** A termination also reads as "gone" to the previous version (410), which knows no other kind. */
function encodeEnd(end: RecordEnd): string {
  if (!('terminated' in end)) return JSON.stringify(end);
  const gone = Errors.uploadGone('The upload was terminated (DELETE): its upstream call was cancelled and nothing was stored');
  return JSON.stringify({ terminated: true, gone: { code: gone.code, message: gone.message } });
}

function decode([spec, expires, owner, end, sent, build, unknown]: Fields): UploadRecord | undefined {
  if (spec === null) return undefined;
  const parsed = JSON.parse(spec) as RecordSpec & { capKey?: string };
  delete parsed.capKey;
  const record: UploadRecord = { spec: parsed, expiresAt: Number(expires) };
  if (owner !== null) record.owner = JSON.parse(owner) as RecordOwner;
  if (end !== null) {
    const parsed = JSON.parse(end) as RecordEnd;
    record.end = 'terminated' in parsed ? { terminated: true } : parsed;
  } else if (unknown !== null) record.end = JSON.parse(unknown) as RecordEnd;
  if (sent !== null) record.sentAt = Number(sent);
  if (build !== null) record.build = JSON.parse(build) as BuildStep;
  return record;
}
