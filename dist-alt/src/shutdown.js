import { settledWithin } from './upload/abortable.js';
/** How long cancelled uploads get to send their 503 before the server closes anyway. */
const CANCEL_SETTLE_MS = 5000;
/**
 * Graceful stop: refuse new uploads (503, /readyz 503) while the listener
 * stays open so clients and the balancer see why, and requests forwarded by
 * other replicas for the resumable uploads held here are still served; let
 * uploads in flight finish for the grace period, and resumable uploads held
 * here for the longer of it and the drain; then cancel those still receiving their body
 * (their clients get 503, the upstream a reset, so nothing partial is
 * stored). Calls already half-closed are not cancelled: their answers are
 * awaited (up to the response timeout) and delivered. Calls still awaiting a
 * late answer after their 504 are reset and recorded as "outcome unknown".
 * Then close the server, the gRPC channel and the embedded upstream.
 */
export async function shutDown({ app, gate, upstream, reference, graceMs, resumableDrainMs, responseTimeoutMs }) {
    const graceEnds = Date.now() + graceMs;
    const drainEnds = Date.now() + Math.max(graceMs, resumableDrainMs ?? 0);
    const resumable = app.resumableUploads;
    gate.drain();
    resumable?.drain();
    // HTTP/2 clients open their next streams on a new connection (another replica, or this one's 503); streams in flight finish.
    app.http2GoAway();
    app.log.info({ uploadsInFlight: gate.inFlight, resumableUploads: resumable?.size ?? 0, graceMs, resumableDrainMs }, 'draining: new uploads are refused');
    // Paused resumable uploads get the grace period (or the drain) to finish, too.
    const finished = await idleWithin(gate, graceMs);
    await resumable?.settledWithin(Math.max(0, drainEnds - Date.now()));
    if (resumable?.size) {
        app.log.warn({ resumableUploads: resumable.size }, 'drain over: resetting the resumable uploads not yet complete');
        resumable.endAll();
    }
    // Also a resumable upload's PATCH that began while paused uploads were awaited.
    if (!finished || gate.inFlight > 0) {
        app.log.warn({ uploadsInFlight: gate.inFlight }, 'grace period over: cancelling the uploads still receiving their body');
        gate.cancelInFlight();
        await idleWithin(gate, responseTimeoutMs + CANCEL_SETTLE_MS);
    }
    // Late answers get what is left of the grace period too.
    await app.lateAnswers.settledWithin(Math.max(0, graceEnds - Date.now()));
    if (app.lateAnswers.size > 0) {
        app.log.warn({ lateAnswers: app.lateAnswers.size }, 'giving up on late upstream answers: their calls are reset and recorded as outcome unknown');
    }
    // Closed before the server closes: an upload that still ends in a late answer meanwhile is given up at once, and recorded.
    await app.lateAnswers.close();
    // How the resumable uploads ended (reset, or an outcome now unknown) reaches the shared store before its connection closes.
    await resumable?.settledWithin(CANCEL_SETTLE_MS);
    await app.close();
    await app.lateAnswers.close();
    upstream.close();
    await reference?.close();
    app.log.info('shut down');
}
function idleWithin(gate, ms) {
    return settledWithin(gate.idle(), ms);
}
/**
 * Runs `shutDown` once on the first SIGTERM or SIGINT and exits 0 when it is
 * done; a second signal exits at once (1) for an operator who will not wait.
 */
export function stopOnSignals(parts) {
    let stopping = false;
    const onSignal = (signal) => {
        if (stopping) {
            parts.app.log.warn({ signal }, 'second signal: exiting without waiting');
            process.exit(1);
        }
        stopping = true;
        parts.app.log.info({ signal }, 'shutting down');
        shutDown(parts).then(() => process.exit(0), (err) => {
            parts.app.log.error({ err }, 'shutdown failed');
            process.exit(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
}
//# sourceMappingURL=shutdown.js.map