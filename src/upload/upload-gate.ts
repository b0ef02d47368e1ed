import { Errors } from '../errors.js';

export interface UploadSlot {
  /** Aborted with a BridgeError when the upload is cancelled: by `abort`, or at the end of a drain. */
  readonly signal: AbortSignal;
  abort(reason: Error): void;
  release(): void;
}

/** Admission for uploads: the MAX_CONCURRENT_UPLOADS bound and the shutdown drain. */
export class UploadGate {
  private active = 0;
  private draining = false;
  // One controller per slot: a signal shared by every upload would collect a dependant per AbortSignal.any.
  private readonly slots = new Set<AbortController>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly maxConcurrent: number) {}

  get inFlight(): number {
    return this.active;
  }

  get accepting(): boolean {
    return !this.draining;
  }

  /**
   * Takes a slot or throws the 503 the client should get. `duringDrain`: an
   * upload that began before the drain (a paused resumable upload) may still
   * take one to finish within the grace period.
   */
  enter({ duringDrain = false } = {}): UploadSlot {
    if (this.draining && !duringDrain) throw Errors.shuttingDown();
    if (this.active >= this.maxConcurrent) throw Errors.overCapacity(this.maxConcurrent);
    this.active++;
    const controller = new AbortController();
    this.slots.add(controller);
    let released = false;
    return {
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
      release: () => {
        if (released) return;
        released = true;
        this.slots.delete(controller);
        this.active--;
        if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      },
    };
  }

  /** Stops admitting uploads; in-flight ones continue. */
  drain(): void {
    this.draining = true;
  }

  /** Cancels every in-flight upload (their clients get 503, the upstream a cancel). */
  cancelInFlight(): void {
    for (const slot of this.slots) slot.abort(Errors.shutdownCancelled());
  }

  /** Resolves once no upload is in flight. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
