/**
 * A stand-in upstream that keeps nothing: the streamer still sniffs, limits
 * and hashes the body (that is the point), but no call is opened, so nothing
 * can be stored. Used to fingerprint the body of an idempotent retry.
 */
export const hashingSink = {
    open: () => {
        let bytes = 0;
        return {
            // Never settles: a sink cannot fail on its own.
            response: new Promise(() => { }),
            write: (chunk) => {
                bytes += chunk.length;
                return undefined;
            },
            commit: async () => ({ contextId: '', sizeBytes: String(bytes) }),
            cancel: () => { },
        };
    },
};
//# sourceMappingURL=hashing-sink.js.map