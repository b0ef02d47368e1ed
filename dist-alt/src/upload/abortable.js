/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it is
 * aborted. The abandoned promise is still observed, so its own later rejection
 * (a destroyed request's 'aborted' error, say) never becomes unhandled.
 */
export function abortable(promise, signal) {
    if (signal.aborted) {
        promise.catch(() => { });
        return Promise.reject(signal.reason);
    }
    return new Promise((resolve, reject) => {
        const onAbort = () => {
            promise.catch(() => { });
            reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        promise.then((value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
        }, (err) => {
            signal.removeEventListener('abort', onAbort);
            reject(err);
        });
    });
}
/** Whether `promise` settled within `ms` (it is not awaited past that). */
export async function settledWithin(promise, ms) {
    let timer;
    const expired = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
    try {
        return await Promise.race([promise.then(() => true, () => true), expired]);
    }
    finally {
        clearTimeout(timer);
    }
}
/** Like `abortable`, and rejects with `onTimeout()` when nothing settled within `ms`. */
export function withDeadline(promise, ms, onTimeout, signal) {
    let timer;
    const deadline = new Promise((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
    });
    return abortable(Promise.race([promise, deadline]), signal).finally(() => clearTimeout(timer));
}
/**
 * Follows `outer` only until the whole body has arrived. From then on a
 * client that leaves, or the end of a drain's grace period, cancels nothing:
 * the remaining checks run, and the call is half-closed or cancelled on their
 * merits alone.
 */
export function untilBodyComplete(outer, bodyComplete) {
    const controller = new AbortController();
    const onAbort = () => {
        if (!bodyComplete())
            controller.abort(outer.reason);
    };
    if (outer.aborted)
        onAbort();
    else
        outer.addEventListener('abort', onAbort, { once: true });
    return controller.signal;
}
//# sourceMappingURL=abortable.js.map