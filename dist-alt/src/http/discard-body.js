import { Errors } from '../errors.js';
import { readBody } from '../upload/read-body.js';
import { onParseError } from './client-error.js';
/** A request that acts without a body (DELETE) may still carry a small one; more is refused. */
const DISCARDED_BODY_MAX_BYTES = 64 * 1024;
/**
 * Reads and drops the body of a request that has no use for one, so the
 * request acts only once Node's parser accepted all of it: a body whose
 * framing is refused, or that is cut short, rejects with what the client is
 * told (400 MALFORMED_HTTP, the client gone, or the idle timeout's 408).
 */
export async function discardBody(request, idleTimeoutMs) {
    if (request.complete)
        return;
    const refused = new AbortController();
    const unroute = onParseError(request, (error) => refused.abort(error));
    let bytes = 0;
    try {
        await readBody(request, {
            idleTimeoutMs,
            idleError: () => Errors.idleTimeout(idleTimeoutMs),
            sourceError: () => Errors.clientAborted(),
            signal: refused.signal,
        }, (piece) => {
            bytes += piece.length;
            if (bytes > DISCARDED_BODY_MAX_BYTES)
                throw Errors.malformedRequest(`This request takes no body, and its body is over ${DISCARDED_BODY_MAX_BYTES} bytes: send it without one.`);
            return undefined;
        });
    }
    finally {
        unroute();
    }
}
//# sourceMappingURL=discard-body.js.map