import type { Redis, Result } from 'ioredis';
import type { RecordEnd, RecordOwner, RecordSpec, ResumableRecordStore, UploadRecord } from '../resumable/resumable-records.js';
import { uploadKey } from './keys.js';
import type { RedisConnection } from './redis-connection.js';

/** The hash's fields, in the order every script answers them. */
type Fields = [spec: string | null, expires: string | null, owner: string | null, end: string | null];

/**
 * Claiming and ending an unclaimed record: sets `owner` or `end` (ARGV[1],
 * the value ARGV[2]) only on a record that exists, has neither, and has not
 * expired at ARGV[3] (the caller's clock); its lifetime is then ARGV[4].
 * Answers the fields as they are afterwards.
 */
const SET_IF_OPEN = `
local v = redis.call('HMGET', KEYS[1], 'spec', 'expires', 'owner', 'end')
if v[1] and not v[3] and not v[4] and tonumber(v[2]) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  v[ARGV[1] == 'owner' and 3 or 4] = ARGV[2]
end
return v`;

/** Compare-and-set on the owner. ARGV: owner JSON, end JSON, lifetime. */
const FINISH = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'end', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    igniteUploadSetIfOpen(key: string, field: 'owner' | 'end', value: string, now: number, ttlMs: number): Result<Fields, Context>;
    igniteUploadFinish(key: string, owner: string, end: string, ttlMs: number): Result<number, Context>;
  }
}

function defineCommands(client: Redis): void {
  if (typeof (client as Partial<Redis>).igniteUploadSetIfOpen === 'function') return;
  client.defineCommand('igniteUploadSetIfOpen', { numberOfKeys: 1, lua: SET_IF_OPEN });
  client.defineCommand('igniteUploadFinish', { numberOfKeys: 1, lua: FINISH });
}

/**
 * Resumable uploads' records in Redis: one hash per upload (`spec`,
 * `expires`, `owner`, `end`), so claiming and ending touch one field each
 * and Lua never re-encodes JSON. The owner is compared as the exact JSON
 * its replica wrote.
 */
export class RedisResumableRecords implements ResumableRecordStore {
  constructor(private readonly redis: RedisConnection) {
    defineCommands(redis.client);
  }

  async create(record: UploadRecord, ttlMs: number): Promise<void> {
    const fields: Record<string, string> = { spec: JSON.stringify(record.spec), expires: String(record.expiresAt) };
    if (record.owner) fields['owner'] = ownerJson(record.owner);
    const key = uploadKey(record.spec.id);
    await this.redis.run((c) => c.multi().hset(key, fields).pexpire(key, ttlMs).exec());
  }

  async read(id: string): Promise<UploadRecord | undefined> {
    return decode(await this.redis.run((c) => c.hmget(uploadKey(id), 'spec', 'expires', 'owner', 'end')) as Fields);
  }

  async claim(id: string, owner: RecordOwner, now: number, ttlMs: number): Promise<UploadRecord | undefined> {
    return decode(await this.redis.run((c) => c.igniteUploadSetIfOpen(uploadKey(id), 'owner', ownerJson(owner), now, ttlMs)));
  }

  async endUnclaimed(id: string, end: RecordEnd, now: number, ttlMs: number): Promise<UploadRecord | undefined> {
    return decode(await this.redis.run((c) => c.igniteUploadSetIfOpen(uploadKey(id), 'end', JSON.stringify(end), now, ttlMs)));
  }

  async finish(id: string, owner: RecordOwner, end: RecordEnd, ttlMs: number): Promise<boolean> {
    return (await this.redis.run((c) => c.igniteUploadFinish(uploadKey(id), ownerJson(owner), JSON.stringify(end), ttlMs))) === 1;
  }
}

/** One spelling of an owner, so the scripts can compare it as a string. */
const ownerJson = ({ address, instance }: RecordOwner): string => JSON.stringify({ address, instance });

function decode([spec, expires, owner, end]: Fields): UploadRecord | undefined {
  if (spec === null) return undefined;
  const record: UploadRecord = { spec: JSON.parse(spec) as RecordSpec, expiresAt: Number(expires) };
  if (owner !== null) record.owner = JSON.parse(owner) as RecordOwner;
  if (end !== null) record.end = JSON.parse(end) as RecordEnd;
  return record;
}
