import { randomBytes } from 'node:crypto';
import type { BuildOutcome } from '../builds/create-build.js';

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
  /**
   * Just before CreateBuild: the key becomes "build sent" (read like "sent":
   * `awaiting` while its owner lives; once it is gone, `done` with the build's
   * outcome unknown), carrying the stored context, by the same compare-and-set
   * on `token`: the holder's claim after the upload, or a finished record whose
   * build did not start (its `token`). `next.token` is the new holder's.
   */
  markBuildSent(key: string, token: string, next: { token: string; record: IdempotentResult }): Promise<boolean>;
  /**
   * The attempt succeeded: remember its result until the TTL runs out. A
   * result whose build did not start keeps `token`, so a retry may take it
   * (compare-and-set) to retry CreateBuild alone.
   */
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
  /** `token`: set while the build did not start, for a retry to take it (markBuildSent). */
  | { state: 'done'; record: IdempotentResult; token?: string }
  | { state: 'unknown' };

export interface IdempotentResult {
  /** name, size and sha-256 of the archive that produced the response, and the build asked for. */
  fingerprint: string;
  response: { contextId: string; sizeBytes: string };
  /** How CreateBuild ended, for an upload that asked for a build (absent while it is being sent). */
  build?: BuildOutcome;
}

/** The token a finished record keeps: only while its build may still be retried. */
export const retryToken = (record: IdempotentResult, token: string): { token?: string } =>
  record.build?.kind === 'not-started' ? { token } : {};

/** What a "build sent" key whose owner died reads as: the context is stored, the build may exist. */
export const buildOwnerLost = (record: IdempotentResult): IdempotentResult =>
  ({ ...record, build: { kind: 'unknown', reason: 'the bridge replica calling CreateBuild stopped before its answer' } });

export const newClaimToken = (): string => randomBytes(16).toString('hex');

type Entry =
  | { state: ClaimPhase | 'sent'; token: string; expiresAt: number; record?: IdempotentResult }
  | { state: 'done'; record: IdempotentResult; expiresAt: number; token?: string }
  | { state: 'unknown'; expiresAt: number };

/**
 * One replica's memory: at most `maxKeys` finished keys, oldest forgotten
 * first; a held claim, a sent one and an unknown outcome (the upload's or the build's) are never evicted,
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
      case 'done': return { state: 'done', record: entry.record, ...entry.token === undefined ? {} : { token: entry.token } };
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

  async markBuildSent(key: string, token: string, next: { token: string; record: IdempotentResult }): Promise<boolean> {
    if (!this.heldBy(key, token)) return false;
    this.entries.set(key, { state: 'sent', token: next.token, record: next.record, expiresAt: this.now() + this.sentMs });
    return true;
  }

  async complete(key: string, token: string, record: IdempotentResult): Promise<boolean> {
    return this.finish(key, token, { state: 'done', record, expiresAt: this.now() + this.ttlMs, ...retryToken(record, token) });
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
    return entry !== undefined && 'token' in entry && entry.token !== undefined && entry.token === token;
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
      // A build whose outcome is unknown is kept like an unknown upload: a retry must never start a second.
      if (entry.state === 'done' && entry.record.build?.kind !== 'unknown') this.entries.delete(key);
    }
  }
}
