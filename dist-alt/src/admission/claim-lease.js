import { Errors } from '../errors.js';
/**
 * How long a claim lives without renewal: the upload idle timeout (1 to
 * 30 s), the same silence after which a live upload is given up. An upload
 * has no total time bound, so the owner renews its claim every third of that
 * while the body arrives, and the claim of an owner that died expires soon
 * after. From the half-close on, the claim is "sent" instead: kept whatever
 * happens to its owner, never renewed.
 */
export const claimLeaseMs = (config) => Math.min(30_000, Math.max(1_000, config.uploadIdleTimeoutMs));
export class ClaimLease {
    store;
    key;
    token;
    leaseMs;
    timer;
    lost = false;
    renewing = Promise.resolve();
    constructor(store, key, token, leaseMs) {
        this.store = store;
        this.key = key;
        this.token = token;
        this.leaseMs = leaseMs;
        this.timer = setInterval(() => { this.renewing = this.renew(); }, Math.floor(leaseMs / 3));
        this.timer.unref();
    }
    /** False once a renewal found the claim gone (lapsed, and maybe taken by another attempt). */
    get held() {
        return !this.lost;
    }
    /**
     * Before the half-close: the claim becomes "sent", or this throws (503) and
     * the call must be cancelled, since a lapsed claim may already be another
     * attempt's, and a mark Redis did not take leaves the key free for a retry.
     */
    async send() {
        this.stop();
        await this.renewing;
        let sent = false;
        try {
            sent = !this.lost && await this.store.markSent(this.key, this.token);
        }
        catch (err) {
            // Not known to be lost: the owner releases it (by its token) once Redis answers again.
            throw Errors.idempotencyClaimLost(err);
        }
        if (!sent) {
            this.lost = true;
            throw Errors.idempotencyClaimLost();
        }
    }
    stop() {
        clearInterval(this.timer);
    }
    async renew() {
        try {
            if (!(await this.store.renew(this.key, this.token, this.leaseMs, 'in-flight'))) {
                this.lost = true;
                this.stop();
            }
        }
        catch {
            // The store is unreachable for now: the next beat tries again, within the lease.
        }
    }
}
//# sourceMappingURL=claim-lease.js.map