import { Errors, OutcomeLostError, OutcomeUnknownError, toBridgeError, type BridgeError } from '../errors.js';
import type { UploadResponse } from '../grpc/upload-messages.js';
import { settledWithin } from './abortable.js';

export type LateOutcome =
  | { kind: 'answered'; response: UploadResponse }
  | { kind: 'failed'; error: BridgeError }
  | { kind: 'unknown' };

/**
 * Half-closed calls whose answer came too late for their request (the client
 * got a 504): each stays open up to UPSTREAM_OUTCOME_WAIT_MS for its answer,
 * then it is reset and its outcome is unknown for good. What follows (an
 * Idempotency-Key record, an import's status, a log line) is the caller's.
 * Each holds an upstream stream outside the upload gate, so at most `max` are
 * kept: past that, the oldest is given up.
 */
export class LateAnswers {
  private readonly pending = new Map<Promise<void>, () => void>();
  private closed = false;

  constructor(
    private readonly waitMs: number,
    private readonly max: number,
  ) {}

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
      (err: unknown): LateOutcome => {
        const failure = toBridgeError(err);
        // The connection broke instead of an answer: that says nothing about what the upstream kept.
        return failure instanceof OutcomeLostError ? { kind: 'unknown' } : { kind: 'failed', error: failure };
      },
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
    if (this.closed) giveUp();
    else if (this.pending.size > this.max) this.pending.values().next().value?.();
  }

  /**
   * What a failed upload left upstream, in one place for every form, told to
   * `then` once known: nothing (`failed`: refused, or cancelled before the
   * half-close) and `unknown` (UPSTREAM_OUTCOME_LOST: the connection broke
   * after the half-close) at once; for an answer that is late
   * (OutcomeUnknownError, `late` true), whatever comes, as `follow` has it.
   */
  settle(err: unknown, then: (outcome: LateOutcome, late: boolean) => Promise<void> | void): Promise<void> | void {
    if (err instanceof OutcomeUnknownError) {
      this.follow(err, (outcome) => then(outcome, true));
      return;
    }
    const error = toBridgeError(err);
    return then(error instanceof OutcomeLostError ? { kind: 'unknown' } : { kind: 'failed', error }, false);
  }

  /** Resolves once no late answer is awaited, or after `ms`, whichever comes first. */
  async settledWithin(ms: number): Promise<void> {
    await settledWithin(Promise.all(this.pending.keys()), ms);
  }

  /** At shutdown: stop waiting (each call is reset, its outcome unknown), also for any followed later, and let the callers record that. */
  async close(): Promise<void> {
    this.closed = true;
    for (const giveUp of this.pending.values()) giveUp();
    await Promise.all(this.pending.keys());
  }
}
