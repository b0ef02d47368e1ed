import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ulid } from 'ulid';
import { findServerHttp2Stream, wasReset } from './call-stream.js';
import { CommitCancelledError } from './context-store.js';
/** How many distinct sizes `sizesBeforeLast` keeps. */
export const MAX_SIZES_KEPT = 8;
let warnedNoStream = false;
export function handleUpload(call, callback, { store, token, discard = false, faults = {}, events }, onReported) {
    const seen = {
        outcome: 'failed', requestMetadata: stringMetadata(call.metadata), traceparents: call.metadata.get('traceparent').map(String), chunks: 0, maxChunk: 0, lastChunk: 0, sizesBeforeLast: [], bytes: 0,
    };
    // The same object is reported again with 'upload' when the call ends.
    events.emit('call', seen);
    let settled = false;
    const finish = (outcome, code, details) => {
        if (settled)
            return false;
        settled = true;
        Object.assign(seen, { outcome, code, details });
        return true;
    };
    const report = () => {
        events.emit('upload', seen);
        onReported();
    };
    // Like a real authenticating server, the token is checked before any message is read.
    if (token !== undefined && call.metadata.get('authorization')[0] !== `Bearer ${token}`) {
        finish('failed', grpc.status.UNAUTHENTICATED, 'missing or invalid bearer token');
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or invalid bearer token' });
        report();
        return;
    }
    const stream = findServerHttp2Stream(call);
    if (!stream && !warnedNoStream) {
        warnedNoStream = true;
        process.emitWarning('the reference upstream found no HTTP/2 stream under a grpc-js server call (grpc-js changed?): a reset is only told from a half-close by the cancel that follows it');
    }
    let incoming;
    let committing = false;
    let answerTimer;
    const hash = createHash('sha256');
    const fail = (code, details) => {
        if (!finish('failed', code, details))
            return;
        void incoming?.abort().finally(report);
        if (!incoming)
            report();
        callback({ code, details });
    };
    const cancelled = () => {
        if (settled)
            return;
        // A commit decides for itself whether the cancel came in time; its result is what gets reported.
        if (committing)
            return void incoming?.abort();
        finish('cancelled', grpc.status.CANCELLED, 'cancelled by the client');
        clearTimeout(answerTimer);
        void (incoming ? incoming.abort() : Promise.resolve()).finally(report);
    };
    // The call reads on only when nothing holds it: neither a full temp file buffer nor an injected delay.
    let stalled = false;
    let holds = 0;
    const hold = () => {
        holds++;
        call.pause();
        let released = false;
        return () => {
            if (released)
                return;
            released = true;
            if (--holds === 0 && !stalled && !settled)
                call.resume();
        };
    };
    call.on('data', (message) => {
        if (settled)
            return;
        if (!seen.metadata) {
            if (message.payload !== 'metadata' || !message.metadata)
                return fail(grpc.status.INVALID_ARGUMENT, 'the first message must be metadata');
            if (!message.metadata.name)
                return fail(grpc.status.INVALID_ARGUMENT, 'metadata.name is required');
            seen.metadata = message.metadata;
            if (discard)
                return;
            incoming = store.begin();
            incoming.stream.on('error', (err) => fail(err.code === 'ENOSPC' || err.code === 'EDQUOT' ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INTERNAL, `storing the context failed: ${err.code ?? err.message}`));
            return;
        }
        if (message.payload !== 'chunk' || !message.chunk)
            return fail(grpc.status.INVALID_ARGUMENT, 'messages after the metadata must be chunks');
        const chunk = message.chunk;
        countChunk(seen, chunk.length);
        hash.update(chunk);
        if (faults.exitAfterBytes !== undefined && seen.bytes >= faults.exitAfterBytes)
            process.exit(70);
        if (faults.failAfterBytes && seen.bytes >= faults.failAfterBytes.bytes) {
            return fail(faults.failAfterBytes.code, faults.failAfterBytes.details ?? 'injected failure');
        }
        if (faults.stopReadingAfterBytes !== undefined && seen.bytes >= faults.stopReadingAfterBytes)
            stalled = true;
        if (incoming && !incoming.stream.write(chunk))
            incoming.stream.once('drain', hold());
        if (stalled)
            call.pause();
        else if (faults.chunkDelayMs)
            setTimeout(hold(), faults.chunkDelayMs);
    });
    // grpc-js reports a stream reset without END_STREAM as a half-close, and the
    // cancel only after it. Node closes the HTTP/2 stream before it ends the
    // readable side; a real half-close leaves the stream open for the answer.
    call.on('end', () => {
        if (settled)
            return;
        if (stream && wasReset(stream))
            return cancelled();
        const metadata = seen.metadata;
        if (!metadata)
            return fail(grpc.status.INVALID_ARGUMENT, 'the stream ended before the metadata message');
        const expected = BigInt(metadata.expectedSizeBytes || '0');
        if (expected !== 0n && expected !== BigInt(seen.bytes)) {
            return fail(grpc.status.INVALID_ARGUMENT, `expected_size_bytes is ${expected} but ${seen.bytes} bytes arrived`);
        }
        events.emit('half-close', seen);
        if (faults.neverAnswer)
            return;
        const record = { name: metadata.name, contentType: metadata.contentType, sizeBytes: String(seen.bytes), sha256: hash.digest('hex') };
        if (faults.answerDelayMs)
            answerTimer = setTimeout(() => commit(record), faults.answerDelayMs);
        else
            commit(record);
    });
    const commit = (record) => {
        if (settled)
            return;
        committing = true;
        const options = {
            // A client that half-closed and then reset (grpc-js's own cancel sends both) is still cancelling.
            stillWanted: () => !call.cancelled && !(stream && wasReset(stream)),
            ...(faults.exitDuringCommit || faults.onCommitStep ? { onStep: (step) => commitStep(faults, step, call) } : {}),
        };
        const committed = incoming ? incoming.commit(record, options) : Promise.resolve().then(() => {
            if (!options.stillWanted())
                throw new CommitCancelledError('the call was cancelled');
            return { ...record, contextId: `ctx_${ulid()}` };
        });
        committed.then((stored) => {
            // A cancel that came too late changes nothing: the context is stored, and the (maybe unread) answer is OK.
            if (!finish('stored', grpc.status.OK))
                return;
            seen.contextId = stored.contextId;
            const answer = () => {
                callback(null, { contextId: stored.contextId, sizeBytes: stored.sizeBytes });
                report();
            };
            if (faults.answerAfterCommitDelayMs) {
                events.emit('stored', seen);
                setTimeout(answer, faults.answerAfterCommitDelayMs);
            }
            else
                answer();
        }, (err) => {
            if (err instanceof CommitCancelledError) {
                if (finish('cancelled', grpc.status.CANCELLED, 'cancelled by the client'))
                    report();
                return;
            }
            fail(err.code === 'ENOSPC' || err.code === 'EDQUOT' ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INTERNAL, `storing the context failed: ${err.code ?? err.message}`);
        });
    };
    call.on('cancelled', cancelled);
}
function commitStep(faults, step, call) {
    if (faults.exitDuringCommit === step)
        process.exit(70);
    return faults.onCommitStep?.(step, call);
}
function countChunk(seen, size) {
    if (seen.chunks > 0 && seen.sizesBeforeLast.length < MAX_SIZES_KEPT && !seen.sizesBeforeLast.includes(seen.lastChunk)) {
        seen.sizesBeforeLast.push(seen.lastChunk);
    }
    seen.chunks++;
    seen.lastChunk = size;
    seen.maxChunk = Math.max(seen.maxChunk, size);
    seen.bytes += size;
}
function stringMetadata(metadata) {
    const map = {};
    for (const [key, value] of Object.entries(metadata.getMap()))
        if (typeof value === 'string')
            map[key] = value;
    return map;
}
//# sourceMappingURL=upload-call.js.map