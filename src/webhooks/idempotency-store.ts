/**
 * Where Idempotency-Keys live. The bridge only talks to this interface, so a
 * store shared by several replicas (Redis, a database) can replace the
 * in-memory one: `claim` must then be atomic across replicas (e.g. Redis
 * `SET key pending NX PX <ttl>`), and `complete` must overwrite the claim.
 */
export interface IdempotencyStore {
  /** Takes the key for a new attempt, or says what is already there. */
  claim(key: string): Promise<Claim>;
  /** What is there, without taking the key ('claimed' meaning: it is free). */
  peek(key: string): Promise<Claim>;
  /** The attempt succeeded: remember its result until the TTL runs out. */
  complete(key: string, record: IdempotentResult): Promise<void>;
  /** The attempt failed: forget the key so a retry runs again. */
  release(key: string): Promise<void>;
}

export type Claim =
  | { state: 'claimed' }
  | { state: 'in-flight' }
  | { state: 'done'; record: IdempotentResult };

export interface IdempotentResult {
  /** name, size and sha-256 of the archive that produced the response. */
  fingerprint: string;
  response: { contextId: string; sizeBytes: string };
}

type Entry = { state: 'in-flight' } | { state: 'done'; record: IdempotentResult; expiresAt: number };

/**
 * One replica's memory: at most `maxKeys` keys, oldest completed ones
 * forgotten first; an in-flight key is never evicted (those are bounded by
 * MAX_CONCURRENT_UPLOADS anyway).
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(key: string): Promise<Claim> {
    const entry = this.entries.get(key);
    if (entry?.state === 'in-flight') return entry;
    if (entry && entry.expiresAt > this.now()) return { state: 'done', record: entry.record };
    this.entries.delete(key);
    this.entries.set(key, { state: 'in-flight' });
    this.evict();
    return { state: 'claimed' };
  }

  async peek(key: string): Promise<Claim> {
    const entry = this.entries.get(key);
    if (entry?.state === 'in-flight') return entry;
    if (entry && entry.expiresAt > this.now()) return { state: 'done', record: entry.record };
    return { state: 'claimed' };
  }

  async complete(key: string, record: IdempotentResult): Promise<void> {
    // Re-inserted so the Map's order stays "oldest completion first".
    this.entries.delete(key);
    this.entries.set(key, { state: 'done', record, expiresAt: this.now() + this.ttlMs });
    this.evict();
  }

  async release(key: string): Promise<void> {
    if (this.entries.get(key)?.state === 'in-flight') this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    if (this.entries.size <= this.maxKeys) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxKeys) return;
      if (entry.state === 'done') this.entries.delete(key);
    }
  }
}
