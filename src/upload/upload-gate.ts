import { Errors } from '../errors.js';

export interface UploadSlot {
  /** Aborted with a BridgeError when the upload is cancelled: by `abort`, or at the end of a drain. */
  readonly signal: AbortSignal;
  /** The signal's controller, for an upload that cancels itself through it (one signal per upload). */
  readonly controller: AbortController;
  /** Cancels the upload, unless `cancellable` (see `enter`) says it is past that. */
  abort(reason: Error): void;
  release(): void;
}

export interface SlotOptions {
  /** An upload that began before the drain (a paused resumable upload) may still take a slot within the grace period. */
  duringDrain?: boolean;
  /**
   * Whether `abort` still cancels: a single-request upload whose body is
   * complete is decided by its checks alone, not by a client that leaves or
   * the end of a drain's grace period.
   */
  cancellable?: () => boolean;
}

/** Admission for uploads: the MAX_CONCURRENT_UPLOADS bound and the shutdown drain. */
export class UploadGate {
  private active = 0;
  private draining = false;
  // One controller per slot: a signal shared by every upload would collect a dependant per AbortSignal.any.
  private readonly slots = new Set<UploadSlot>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly maxConcurrent: number) {}

  get inFlight(): number {
    return this.active;
  }

  get accepting(): boolean {
    return !this.draining;
  }

  /** Takes a slot or throws the 503 the client should get. */
  enter(options?: SlotOptions): UploadSlot {
    if (this.draining && !options?.duringDrain) throw Errors.shuttingDown();
    if (this.active >= this.maxConcurrent) throw Errors.overCapacity(this.maxConcurrent);
    this.active++;
    const slot = new Slot(this, options?.cancellable);
    this.slots.add(slot);
    return slot;
  }

  /** Called once per slot, by its `release`. */
  left(slot: UploadSlot): void {
    this.slots.delete(slot);
    this.active--;
    if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
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

class Slot implements UploadSlot {
  readonly controller = new AbortController();
  private released = false;

  constructor(
    private readonly gate: UploadGate,
    private readonly cancellable: (() => boolean) | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (this.cancellable && !this.cancellable()) return;
    this.controller.abort(reason);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.gate.left(this);
  }
}
