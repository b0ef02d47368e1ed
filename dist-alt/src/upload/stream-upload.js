import { createHash } from 'node:crypto';
import { BridgeError, Errors, toBridgeError } from '../errors.js';
import { describeHead, detectArchiveType, SNIFF_BYTES } from './archive-type.js';
import { ARCHIVE_HEAD_BYTES, ArchiveHead } from './archive-head.js';
import { abortable } from './abortable.js';
import { readBody } from './read-body.js';
import { Rechunker } from './rechunk.js';
/** A body stream that errors (reset, premature close) is a client that went away. */
const clientGone = () => Errors.clientAborted();
/**
 * Starts uploads. Single-request forms (multipart, raw, PUT, import) call
 * `upload`: one body, then the commit. A resumable upload calls `start` and
 * feeds the returned Upload one request body after another.
 *
 * Which timeout applies when (one clock runs at a time for an upload):
 *
 * | phase                                   | timeout                        | on expiry                          |
 * |-----------------------------------------|--------------------------------|------------------------------------|
 * | waiting for body bytes (readBody)       | UPLOAD_IDLE_TIMEOUT_MS         | 408 (import: 502); the request     |
 * |                                         |   (request scope)              |   ends: single-request forms cancel|
 * | multipart fields, the form's end        | UPLOAD_IDLE_TIMEOUT_MS         | 408, call cancelled                |
 * | a chunk waiting for the upstream, also  | UPSTREAM_RESPONSE_TIMEOUT_MS   | 504 "stopped reading", cancelled   |
 * |   the last ones before the half-close   |   (UploadCall)                 |                                    |
 * | after the half-close, for the answer    | UPSTREAM_RESPONSE_TIMEOUT_MS   | 504 "not known yet", call kept     |
 * | after that 504, for a late answer       | UPSTREAM_OUTCOME_WAIT_MS       | reset, recorded "outcome unknown"  |
 * |                                         |   (LateAnswers)                |                                    |
 * | an import's whole download              | IMPORT_TIMEOUT_MS              | 504, cancelled (until it is whole) |
 * | a paused resumable upload               | RESUMABLE_EXPIRY_MS (sliding), | cancelled, 410                     |
 * |                                         |   RESUMABLE_MAX_LIFETIME_MS    |                                    |
 *
 * A client that leaves, or the end of a drain's grace period, cancels only
 * until the body is complete (`untilBodyComplete` on `job.signal`).
 */
export class UploadStreamer {
    upstream;
    limits;
    constructor(upstream, limits) {
        this.upstream = upstream;
        this.limits = limits;
    }
    /** One request body is the whole archive: any failure while reading it cancels the upload. */
    async upload(source, job) {
        const upload = this.start(job);
        try {
            await upload.receive(source, job);
        }
        catch (err) {
            upload.cancel(toBridgeError(err));
        }
        return upload.finish();
    }
    start(job) {
        return new Upload(job, job.upstream ?? this.upstream, this.limits);
    }
}
/**
 * The upload scope: one archive, one call to the target, one cancellation
 * signal. Bytes pass these stages in order, each a few lines below:
 *
 *   limit → sniff (proves the head, opens the call) → digests and taps → re-chunk → send
 *
 * The call is opened only once the archive's head proved it (see
 * ArchiveHead: nothing corrupt reaches the target, not even as a cancelled
 * call), and half-closed only after every check passed; before that, any failure
 * cancels it so the target never keeps a partial archive.
 */
export class Upload {
    job;
    target;
    limits;
    archive = { contentType: 'application/gzip', bytes: 0, chunks: 0, digests: {} };
    abort = new AbortController();
    cause;
    call;
    /** The rest of a piece waiting for the target: the next bytes go in only after it. */
    pending;
    /** The pieces the sniff holds, joined once when they are enough (tiny pieces would make joining each time quadratic). */
    held = [];
    heldBytes = 0;
    type;
    proof = new ArchiveHead();
    hashes;
    chunks;
    detach;
    maxBytes;
    overLimit;
    span;
    constructor(job, target, limits) {
        this.job = job;
        this.target = target;
        this.limits = limits;
        this.maxBytes = limits.maxContextBytes;
        this.overLimit = () => Errors.tooLarge(limits.maxContextBytes);
        this.hashes = new Map((job.digests ?? []).map((algorithm) => [algorithm, createHash(algorithm)]));
        this.chunks = new Rechunker(limits.chunkSizeBytes, target.allocChunk?.bind(target));
        const outer = job.signal;
        const onAbort = () => this.cancel(outer.reason instanceof BridgeError ? outer.reason : clientGone());
        if (outer?.aborted)
            onAbort();
        else
            outer?.addEventListener('abort', onAbort, { once: true });
        this.detach = () => outer?.removeEventListener('abort', onAbort);
        this.span = job.watch?.(job.name, this.archive) ?? undefined;
    }
    /** Aborted once the upload failed or was cancelled; the reason is the BridgeError the client is told. */
    get signal() {
        return this.abort.signal;
    }
    /** Bytes taken so far (a resumable upload's offset): none of them can be lost short of cancelling the upload. */
    get offset() {
        return this.archive.bytes;
    }
    /**
     * The request scope: reads one request body into the upload. Resolves when
     * that body ended with every byte taken; rejects when the request ended
     * early (idle, gone, superseded) or the upload failed (then `signal` is
     * aborted). Bytes already taken stay taken either way.
     */
    async receive(source, options = {}) {
        await this.settled();
        const signal = options.signal ? AbortSignal.any([this.abort.signal, options.signal]) : this.abort.signal;
        await readBody(source, {
            idleTimeoutMs: this.limits.idleTimeoutMs,
            idleError: options.idleError ?? (() => Errors.idleTimeout(this.limits.idleTimeoutMs)),
            sourceError: options.sourceError ?? clientGone,
            signal,
        }, (piece) => this.push(piece));
        await this.settled();
    }
    /** A tighter bound than MAX_CONTEXT_BYTES (a resumable upload's Upload-Length), and what passing it is. */
    limitTo(bytes, error) {
        if (bytes >= this.maxBytes)
            return;
        this.maxBytes = bytes;
        this.overLimit = error;
    }
    /** Every byte taken has been handed on (or the upload failed). */
    async settled() {
        while (this.pending)
            await abortable(this.pending, this.abort.signal);
        if (this.cause)
            throw this.cause;
    }
    /**
     * After the last byte: the last chunk, the size and every check, then the
     * half-close and the target's answer. Throws what the client is told.
     */
    async finish() {
        const { archive, job } = this;
        try {
            await this.settled();
            // A body shorter than the sniff: decide on what there is.
            if (!this.call)
                await this.behind(this.forward(this.sniff(EMPTY, true)));
            // Before the last chunk, so a small archive whose end is wrong never reaches the target at all.
            if (job.proveEnd)
                await abortable(job.proveEnd(), this.abort.signal);
            else
                this.proof.end();
            const last = this.chunks.end();
            if (last)
                await this.behind(this.send(last));
            if (!this.call)
                throw Errors.emptyBody();
            if (job.expectedSizeBytes > 0 && archive.bytes !== job.expectedSizeBytes) {
                throw Errors.sizeMismatch(job.expectedSizeBytes, archive.bytes);
            }
            for (const [algorithm, hash] of this.hashes)
                archive.digests[algorithm] = hash.digest();
            for (const check of job.checks ?? [])
                await abortable(Promise.resolve(check(archive)), this.abort.signal);
            if (this.cause)
                throw this.cause;
            // Not abortable: from the half-close on, the outcome is the target's (commit has its own timeouts).
            const response = await this.call.commit();
            if (response.sizeBytes !== String(archive.bytes)) {
                throw Errors.upstreamSizeMismatch(archive.bytes, response.sizeBytes).withMetadata({ contextId: response.contextId });
            }
            return { ...archive, contextId: response.contextId, sizeBytes: response.sizeBytes };
        }
        catch (err) {
            throw this.cancel(toBridgeError(err));
        }
        finally {
            this.detach();
        }
    }
    /** Waits while the target is behind (nothing to wait for is the common case), or until the upload fails. */
    async behind(wait) {
        if (wait)
            await abortable(wait, this.abort.signal);
    }
    /**
     * Ends the upload and resets its call at once (waiting for the stages to
     * unwind could take as long as a stalled target). The first reason wins;
     * after the half-close it does nothing.
     */
    cancel(reason) {
        this.cause ??= reason;
        this.abort.abort(this.cause);
        this.call?.cancel();
        return this.cause;
    }
    /** The stages, for one piece: undefined when it was handed on, a promise while the target is behind. */
    push(piece) {
        let wait;
        try {
            wait = this.forward(this.sniff(this.limit(piece)));
        }
        catch (err) {
            throw this.cancel(toBridgeError(err));
        }
        if (!wait)
            return undefined;
        const pending = wait.then(() => { if (this.pending === pending)
            this.pending = undefined; }, (err) => {
            if (this.pending === pending)
                this.pending = undefined;
            throw this.cancel(toBridgeError(err));
        });
        pending.catch(() => { }); // the request that pushed may be gone; the cause is kept for finish()
        this.pending = pending;
        return pending;
    }
    /** Stage 1: counts the bytes against the limit (MAX_CONTEXT_BYTES, or tighter). From here on they are the upload's. */
    limit(piece) {
        this.archive.bytes += piece.length;
        if (this.archive.bytes > this.maxBytes)
            throw this.overLimit();
        return piece;
    }
    /**
     * Stage 2: holds the first bytes until they prove the archive (ARCHIVE_HEAD_BYTES, or the
     * whole body when it ends first), then opens the call. The held bytes count in `offset`.
     */
    sniff(piece, final = false) {
        if (this.call)
            return piece;
        this.held.push(piece);
        this.heldBytes += piece.length;
        // The type is known from the first bytes: a body that is no archive at all is refused at once.
        if (!this.type && (this.heldBytes >= SNIFF_BYTES || final)) {
            if (!this.heldBytes)
                throw Errors.emptyBody();
            const first = this.held[0].length >= SNIFF_BYTES ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
            this.type = detectArchiveType(first);
            if (!this.type)
                throw Errors.notAnArchive(describeHead(first));
        }
        if (this.heldBytes < ARCHIVE_HEAD_BYTES && !final)
            return undefined;
        const type = this.type;
        const head = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
        this.held = [];
        this.heldBytes = 0;
        this.proof.prove(type, head, final);
        this.archive.contentType = type;
        this.call = this.target.open({ name: this.job.name, contentType: type, expectedSizeBytes: String(this.job.expectedSizeBytes) }, this.job.headers, this.span);
        // The target may end the call (UNAUTHENTICATED, …) while the body still streams.
        this.call.response.catch((err) => this.cancel(toBridgeError(err)));
        return head;
    }
    /** Stages 3–5, for the bytes the sniff let through: digests and taps, re-chunk, send. */
    forward(bytes) {
        if (!bytes)
            return undefined;
        for (const hash of this.hashes.values())
            hash.update(bytes);
        for (const tap of this.job.taps ?? [])
            tap(bytes);
        this.proof.update(bytes);
        return this.chunks.push(bytes, this.send);
    }
    send = (chunk) => {
        this.archive.chunks++;
        return this.call.write(chunk);
    };
}
const EMPTY = Buffer.alloc(0);
//# sourceMappingURL=stream-upload.js.map