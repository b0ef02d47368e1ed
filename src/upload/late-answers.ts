import { Errors, toBridgeError, type BridgeError, type OutcomeUnknownError } from '../errors.js';
import type { UploadResponse } from '../grpc/proto.js';

export type LateOutcome =
  | { kind: 'answered'; response: UploadResponse }
  | { kind: 'failed'; error: BridgeError }
  | { kind: 'unknown' };

/**
 * Half-closed calls whose answer came too late for their request (the client
 * got a 504): each stays open up to UPSTREAM_OUTCOME_WAIT_MS for its answer,
 * then it is reset and its outcome is unknown for good. What follows (an
 * Idempotency-Key record, an import's status, a log line) is the caller's.
 */
export class LateAnswers {
  private readonly pending = new Map<Promise<void>, () => void>();

  constructor(private readonly waitMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  follow(error: OutcomeUnknownError, then: (outcome: LateOutcome) => Promise<void> | void): void {
    let giveUp!: () => void;
    const gaveUp = new Promise<LateOutcome>((resolve) => { giveUp = () => resolve({ kind: 'unknown' }); });
    const timer = setTimeout(giveUp, this.waitMs);
    const answered = error.answer.then(
      (response): LateOutcome => response.sizeBytes === String(error.sentBytes)
        ? { kind: 'answered', response }
        : { kind: 'failed', error: Errors.upstreamSizeMismatch(error.sentBytes, response.sizeBytes) },
      (err: unknown): LateOutcome => ({ kind: 'failed', error: toBridgeError(err) }),
    );
    const done = Promise.race([answered, gaveUp])
      .then(async (outcome) => {
        clearTimeout(timer);
        if (outcome.kind === 'unknown') error.abandon();
        await then(outcome);
      })
      .catch(() => {})
      .finally(() => this.pending.delete(done));
    this.pending.set(done, giveUp);
  }

  /** At shutdown: stop waiting (each call is reset, its outcome unknown) and let the callers record that. */
  async abandonAll(): Promise<void> {
    for (const giveUp of this.pending.values()) giveUp();
    await Promise.all(this.pending.keys());
  }
}
