import type { Config } from '../config.js';
import type { ClaimPhase, IdempotencyStore } from './idempotency-store.js';

/**
 * How long a claim lives without renewal: the upload idle timeout (1 to
 * 30 s), the same silence after which a live upload is given up. An upload
 * has no total time bound, so the owner renews its claim every third of that
 * while the upload (or the wait for its answer) runs, and the claim of an
 * owner that died expires soon after.
 */
export const claimLeaseMs = (config: Pick<Config, 'uploadIdleTimeoutMs'>): number =>
  Math.min(30_000, Math.max(1_000, config.uploadIdleTimeoutMs));

export class ClaimLease {
  private phase: ClaimPhase = 'in-flight';
  private readonly timer: NodeJS.Timeout;
  private lost = false;

  constructor(
    private readonly store: IdempotencyStore,
    readonly key: string,
    readonly token: string,
    private readonly leaseMs: number,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.floor(leaseMs / 3));
    this.timer.unref();
  }

  /** False once a renewal found the claim gone (lapsed, and maybe taken by another attempt). */
  get held(): boolean {
    return !this.lost;
  }

  /** The call is half-closed: retries now hear "awaiting its answer" rather than "in flight". */
  async awaitingAnswer(): Promise<void> {
    this.phase = 'awaiting';
    await this.renew();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    try {
      if (!(await this.store.renew(this.key, this.token, this.leaseMs, this.phase))) {
        this.lost = true;
        this.stop();
      }
    } catch {
      // The store is unreachable for now: the next beat tries again, within the lease.
    }
  }
}
