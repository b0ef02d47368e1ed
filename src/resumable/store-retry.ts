import { BridgeError } from '../errors.js';

/** A write to the shared store that failed is tried again this long after. */
const STORE_RETRY_MS = 1000;

export interface StoreRetry {
  /** Tries in all, the first included. */
  attempts: number;
  /** Whether a failure may be tried again (default: any failure). */
  retryable?: (err: unknown) => boolean;
  /** Waits before the first try too (a write that just failed once elsewhere). */
  waitFirst?: boolean;
  /** Called before each wait, with the failure and the number of the try that failed. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/**
 * A write to the shared store, tried a second apart until it succeeds, a
 * failure is not retryable, or the tries run out (then it throws the last
 * failure). Owners wait so for Redis to answer: the record is what every
 * other replica answers from.
 */
export async function retryStoreWrite<T>(write: () => Promise<T>, { attempts, retryable = () => true, waitFirst = false, onRetry }: StoreRetry): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (waitFirst || attempt > 1) await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_MS).unref());
    try {
      return await write();
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      onRetry?.(err, attempt);
    }
  }
}

/** Redis did not answer (SHARED_STATE_UNAVAILABLE): the write may succeed later. */
export function isStoreUnavailable(err: unknown): boolean {
  return err instanceof BridgeError && err.code === 'SHARED_STATE_UNAVAILABLE';
}
