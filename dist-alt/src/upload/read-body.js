import { performance } from 'node:perf_hooks';
import { toBridgeError } from '../errors.js';
import { bodyBytesAllocated } from '../gc-tuning.js';
/**
 * Hands every piece of the body to `onPiece` as it arrives: 'data' events,
 * so a piece costs no promise and no timer. While the promise `onPiece`
 * returned is pending (the upstream is behind) the body is paused, and the
 * idle timer with it: a stalled upstream is not the client's idle timeout.
 * Resolves at the end of the body. Never destroys the body: destroying an
 * IncomingMessage destroys its socket, and the client must still get our
 * error reply.
 */
export function readBody(source, options, onPiece) {
    const { idleTimeoutMs, signal } = options;
    if (signal.aborted)
        return Promise.reject(toBridgeError(signal.reason));
    return new Promise((resolve, reject) => {
        let done = false;
        let ended = false;
        /** Waiting on the upstream, not on the client. */
        let blocked = false;
        let lastByte = performance.now();
        const finish = (err) => {
            if (done)
                return;
            done = true;
            clearTimeout(idle);
            signal.removeEventListener('abort', onAbort);
            source.removeListener('data', onData);
            source.removeListener('end', onEnd);
            source.removeListener('close', onClose);
            source.removeListener('error', onError);
            // An error the body emits later (the client leaving while we answer) must not go unhandled.
            source.on('error', ignore);
            if (err === undefined) {
                resolve();
            }
            else {
                // Left unread, as a refusal needs it (closeAfterReply decides what happens to the rest).
                source.pause();
                reject(toBridgeError(err));
            }
        };
        const broken = (err) => finish(signal.aborted ? signal.reason : options.sourceError(err));
        const onData = (piece) => {
            lastByte = performance.now();
            bodyBytesAllocated(piece.length);
            let wait;
            try {
                wait = onPiece(piece);
            }
            catch (err) {
                finish(err);
                return;
            }
            if (!wait)
                return;
            blocked = true;
            source.pause();
            wait.then(() => {
                blocked = false;
                if (done)
                    return;
                lastByte = performance.now();
                if (ended)
                    finish();
                else
                    source.resume();
            }, finish);
        };
        const prematureClose = () => broken(Object.assign(new Error('the body closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
        const onEnd = () => {
            // An HTTP/2 request the client reset before END_STREAM still ends (after 'aborted'): that end is a cut.
            if (source.aborted === true) {
                prematureClose();
                return;
            }
            ended = true;
            if (!blocked)
                finish();
        };
        const onClose = () => {
            if (!ended)
                prematureClose();
        };
        const onError = (err) => broken(err);
        const onAbort = () => finish(signal.reason);
        // One timer for the whole body, pushed back lazily: refreshing it for every piece costs more than the piece.
        const check = () => {
            if (done)
                return;
            const quiet = performance.now() - lastByte;
            if (!blocked && quiet >= idleTimeoutMs)
                finish(options.idleError());
            else
                idle = setTimeout(check, blocked ? idleTimeoutMs : idleTimeoutMs - quiet);
        };
        let idle = setTimeout(check, idleTimeoutMs);
        signal.addEventListener('abort', onAbort, { once: true });
        source.on('end', onEnd);
        source.on('close', onClose);
        source.on('error', onError);
        if (source.readableEnded)
            onEnd();
        else if (source.destroyed)
            onClose();
        else
            source.on('data', onData);
    });
}
function ignore() { }
//# sourceMappingURL=read-body.js.map