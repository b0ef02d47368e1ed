import { Errors } from '../errors.js';
/** Admission for uploads: the MAX_CONCURRENT_UPLOADS bound and the shutdown drain. */
export class UploadGate {
    maxConcurrent;
    active = 0;
    draining = false;
    // One controller per slot: a signal shared by every upload would collect a dependant per AbortSignal.any.
    slots = new Set();
    idleWaiters = [];
    constructor(maxConcurrent) {
        this.maxConcurrent = maxConcurrent;
    }
    get inFlight() {
        return this.active;
    }
    get accepting() {
        return !this.draining;
    }
    /**
     * Takes a slot or throws the 503 the client should get. `duringDrain`: an
     * upload that began before the drain (a paused resumable upload) may still
     * take one to finish within the grace period.
     */
    enter({ duringDrain = false } = {}) {
        if (this.draining && !duringDrain)
            throw Errors.shuttingDown();
        if (this.active >= this.maxConcurrent)
            throw Errors.overCapacity(this.maxConcurrent);
        this.active++;
        const controller = new AbortController();
        this.slots.add(controller);
        let released = false;
        return {
            signal: controller.signal,
            abort: (reason) => controller.abort(reason),
            release: () => {
                if (released)
                    return;
                released = true;
                this.slots.delete(controller);
                this.active--;
                if (this.active === 0)
                    for (const wake of this.idleWaiters.splice(0))
                        wake();
            },
        };
    }
    /** Stops admitting uploads; in-flight ones continue. */
    drain() {
        this.draining = true;
    }
    /** Cancels every in-flight upload (their clients get 503, the upstream a cancel). */
    cancelInFlight() {
        for (const slot of this.slots)
            slot.abort(Errors.shutdownCancelled());
    }
    /** Resolves once no upload is in flight. */
    idle() {
        if (this.active === 0)
            return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }
}
//# sourceMappingURL=upload-gate.js.map