import { randomBytes } from 'node:crypto';
/** The token a finished record keeps: only while its build may still be retried. */
export const retryToken = (record, token) => record.build?.kind === 'not-started' ? { token } : {};
/** What a "build sent" key whose owner died reads as: the context is stored, the build may exist. */
export const buildOwnerLost = (record) => ({ ...record, build: { kind: 'unknown', reason: 'the bridge replica calling CreateBuild stopped before its answer' } });
export const newClaimToken = () => randomBytes(16).toString('hex');
/**
 * One replica's memory: at most `maxKeys` finished keys, oldest forgotten
 * first; a held claim, a sent one and an unknown outcome (the upload's or the build's) are never evicted,
 * only expired (forgetting them would let a retry upload a second copy).
 */
export class MemoryIdempotencyStore {
    ttlMs;
    maxKeys;
    now;
    sentMs;
    entries = new Map();
    constructor(ttlMs, maxKeys, now = Date.now, 
    /** How long a "sent" key is kept: UPSTREAM_OUTCOME_WAIT_MS plus the TTL. */
    sentMs = ttlMs) {
        this.ttlMs = ttlMs;
        this.maxKeys = maxKeys;
        this.now = now;
        this.sentMs = sentMs;
    }
    async claim(key, leaseMs) {
        const current = await this.peek(key);
        if (current.state !== 'free')
            return current;
        const token = newClaimToken();
        this.entries.delete(key);
        this.entries.set(key, { state: 'in-flight', token, expiresAt: this.now() + leaseMs });
        this.evict();
        return { state: 'claimed', token };
    }
    async peek(key) {
        const entry = this.live(key);
        if (!entry)
            return { state: 'free' };
        switch (entry.state) {
            case 'done': return { state: 'done', record: entry.record, ...entry.token === undefined ? {} : { token: entry.token } };
            // This process is the owner: while it runs, it awaits the answer.
            case 'sent': return { state: 'awaiting' };
            default: return { state: entry.state };
        }
    }
    async renew(key, token, leaseMs, phase) {
        if (!this.heldBy(key, token) || this.entries.get(key).state === 'sent')
            return false;
        this.entries.set(key, { state: phase, token, expiresAt: this.now() + leaseMs });
        return true;
    }
    async markSent(key, token) {
        if (!this.heldBy(key, token))
            return false;
        this.entries.set(key, { state: 'sent', token, expiresAt: this.now() + this.sentMs });
        return true;
    }
    async markBuildSent(key, token, next) {
        if (!this.heldBy(key, token))
            return false;
        this.entries.set(key, { state: 'sent', token: next.token, record: next.record, expiresAt: this.now() + this.sentMs });
        return true;
    }
    async complete(key, token, record) {
        return this.finish(key, token, { state: 'done', record, expiresAt: this.now() + this.ttlMs, ...retryToken(record, token) });
    }
    async markUnknown(key, token) {
        return this.finish(key, token, { state: 'unknown', expiresAt: this.now() + this.ttlMs });
    }
    async release(key, token) {
        if (!this.heldBy(key, token))
            return false;
        this.entries.delete(key);
        return true;
    }
    get size() {
        return this.entries.size;
    }
    finish(key, token, entry) {
        if (!this.heldBy(key, token))
            return false;
        // Re-inserted so the Map's order stays "oldest finished first".
        this.entries.delete(key);
        this.entries.set(key, entry);
        this.evict();
        return true;
    }
    heldBy(key, token) {
        const entry = this.live(key);
        return entry !== undefined && 'token' in entry && entry.token !== undefined && entry.token === token;
    }
    live(key) {
        const entry = this.entries.get(key);
        if (entry && entry.expiresAt <= this.now()) {
            this.entries.delete(key);
            return undefined;
        }
        return entry;
    }
    evict() {
        if (this.entries.size <= this.maxKeys)
            return;
        for (const [key, entry] of this.entries) {
            if (this.entries.size <= this.maxKeys)
                return;
            // A build whose outcome is unknown is kept like an unknown upload: a retry must never start a second.
            if (entry.state === 'done' && entry.record.build?.kind !== 'unknown')
                this.entries.delete(key);
        }
    }
}
//# sourceMappingURL=idempotency-store.js.map