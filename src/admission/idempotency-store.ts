import { randomBytes } from 'node:crypto';

/**
 * Where Idempotency-Keys live. The bridge only talks to this interface: one
 * replica's memory by default, or a store every replica shares. A claim
 * carries a random owner token and a lease the owner keeps renewing, so the
 * claim of an owner that died expires soon after; everything that changes a
 * claimed key is compare-and-set on that token, so an owner whose claim
 * lapsed can never overwrite or delete a newer one.
 */
export interface IdempotencyStore {
  /** Takes the key for a new attempt (for `leaseMs`), or says what is already there. */
  claim(key: string, leaseMs: number): Promise<Claim>;
  /** What is there, without taking the key. */
  peek(key: string): Promise<Claim>;
  /** The owner still works on it: extends the lease (never over "sent"). */
  renew(key: string, token: string, leaseMs: number, phase: ClaimPhase): Promise<boolean>;
  /**
   * Just before the half-close: the holder's claim becomes "sent", kept for
   * UPSTREAM_OUTCOME_WAIT_MS plus the TTL whatever happens to its owner, and
   * read as `awaiting` while the owner lives, `unknown` once it is gone.
   * False when the claim is no longer held: the call must then be cancelled.
   */
  markSent(key: string, token: string): Promise<boolean>;
  /** The attempt succeeded: remember its result until the TTL runs out. */
  complete(key: string, token: string, record: IdempotentResult): Promise<boolean>;
  /** The half-closed call never got an answer: never upload again under this key, until the TTL runs out. */
  markUnknown(key: string, token: string): Promise<boolean>;
  /** The attempt failed and stored nothing: forget the key so a retry runs again. */
  release(key: string, token: string): Promise<boolean>;
}

/** A held claim: receiving the body, or half-closed and awaiting the upstream's answer. */
export type ClaimPhase = 'in-flight' | 'awaiting';

export type Claim =
  | { state: 'claimed'; token: string }
  | { state: 'free' }
  | { state: ClaimPhase }
  | { state: 'done'; record: IdempotentResult }
  | { state: 'unknown' };

export interface IdempotentResult {
  /** name, size and sha-256 of the archive that produced the response. */
  fingerprint: string;
  response: { contextId: string; sizeBytes: string };
}

export const newClaimToken = (): string => randomBytes(16).toString('hex');

type Entry =
  | { state: ClaimPhase | 'sent'; token: string; expiresAt: number }
  | { state: 'done'; record: IdempotentResult; expiresAt: number }
  | { state: 'unknown'; expiresAt: number };

/**
 * One replica's memory: at most `maxKeys` finished keys, oldest forgotten
 * first; a held claim, a sent one and an unknown outcome are never evicted,
 * only expired (forgetting them would let a retry upload a second copy).
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
    /** How long a "sent" key is kept: UPSTREAM_OUTCOME_WAIT_MS plus the TTL. */
    private readonly sentMs: number = ttlMs,
  ) {}

  async claim(key: string, leaseMs: number): Promise<Claim> {
    const current = await this.peek(key);
    if (current.state !== 'free') return current;
    const token = newClaimToken();
    this.entries.delete(key);
    this.entries.set(key, { state: 'in-flight', token, expiresAt: this.now() + leaseMs });
    this.evict();
    return { state: 'claimed', token };
  }

  async peek(key: string): Promise<Claim> {
    const entry = this.live(key);
    if (!entry) return { state: 'free' };
    switch (entry.state) {
      case 'done': return { state: 'done', record: entry.record };
      // This process is the owner: while it runs, it awaits the answer.
      case 'sent': return { state: 'awaiting' };
      default: return { state: entry.state };
    }
  }

  async renew(key: string, token: string, leaseMs: number, phase: ClaimPhase): Promise<boolean> {
    if (!this.heldBy(key, token) || this.entries.get(key)!.state === 'sent') return false;
    this.entries.set(key, { state: phase, token, expiresAt: this.now() + leaseMs });
    return true;
  }

  async markSent(key: string, token: string): Promise<boolean> {
    if (!this.heldBy(key, token)) return false;
    this.entries.set(key, { state: 'sent', token, expiresAt: this.now() + this.sentMs });
    return true;
  }

  async complete(key: string, token: string, record: IdempotentResult): Promise<boolean> {
    return this.finish(key, token, { state: 'done', record, expiresAt: this.now() + this.ttlMs });
  }

  async markUnknown(key: string, token: string): Promise<boolean> {
    return this.finish(key, token, { state: 'unknown', expiresAt: this.now() + this.ttlMs });
  }

  async release(key: string, token: string): Promise<boolean> {
    if (!this.heldBy(key, token)) return false;
    this.entries.delete(key);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  private finish(key: string, token: string, entry: Entry): boolean {
    if (!this.heldBy(key, token)) return false;
    // Re-inserted so the Map's order stays "oldest finished first".
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.evict();
    return true;
  }

  private heldBy(key: string, token: string): boolean {
    const entry = this.live(key);
    return entry !== undefined && 'token' in entry && entry.token === token;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private evict(): void {
    if (this.entries.size <= this.maxKeys) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxKeys) return;
      if (entry.state === 'done') this.entries.delete(key);
    }
  }
}
