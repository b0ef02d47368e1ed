import { randomBytes } from 'node:crypto';
import { Errors } from '../errors.js';
import { settledWithin } from '../upload/abortable.js';
import { CreationCaps } from './creation-caps.js';
import { ResumableUpload } from './resumable-upload.js';
/** 144 random bits: the id is the upload's capability. */
export function newUploadId() {
    return randomBytes(18).toString('base64url');
}
/**
 * The resumable uploads this replica owns. Open ones (receiving or
 * committing) count against MAX_RESUMABLE_UPLOADS and the per-address and
 * per-credential quarters of it (CreationCaps); ended ones are remembered:
 * completed ones and unknown outcomes for IDEMPOTENCY_TTL_MS (a client whose
 * final answer was lost reads it from HEAD hours later), failed and
 * terminated ones for RESUMABLE_EXPIRY_MS; a bounded number, and an unknown
 * outcome is never pushed out by count (forgotten, it would read as 404 and
 * a tus client would upload it again).
 */
export class ResumableUploads {
    streamer;
    limits;
    lateAnswers;
    onResume;
    caps;
    open = new Map();
    ended = new Map();
    /** Writes to the shared store still under way (how uploads ended): a drain waits for them. */
    writes = new Set();
    draining = false;
    completedListeners = [];
    constructor(streamer, limits, lateAnswers, 
    /** Counts a PATCH that resumes a paused upload. */
    onResume = () => { }) {
        this.streamer = streamer;
        this.limits = limits;
        this.lateAnswers = lateAnswers;
        this.onResume = onResume;
        this.caps = new CreationCaps(limits.maxUploads);
    }
    /** Uploads held open (receiving, paused or committing). */
    get size() {
        return this.open.size;
    }
    create(spec) {
        this.assertRoom(spec.capKeys);
        return this.adopt({ ...spec, id: newUploadId() });
    }
    /** Throws the 503 a new upload with these cap keys gets here: draining, or a full cap (`id`: its own creation's place is its). */
    assertRoom(capKeys, id) {
        if (this.draining)
            throw Errors.shuttingDown();
        this.caps.assertRoom(capKeys, id);
    }
    /** Whether this replica stopped taking new uploads (SIGTERM). */
    get isDraining() {
        return this.draining;
    }
    /** A write to the shared store that a drain should let finish. */
    track(write) {
        this.writes.add(write);
        void write.finally(() => this.writes.delete(write));
    }
    /** Holds an upload whose id was already given (by this replica, or in the shared store): its call will be opened here. */
    adopt(spec) {
        const upload = new ResumableUpload(spec, this.streamer, this.limits, this.lateAnswers, this.onResume);
        this.open.set(upload.id, upload);
        this.caps.take(upload.id, spec.capKeys);
        void upload.whenEnded().then(() => this.retire(upload));
        upload.onEnded(() => {
            if (upload.answer)
                for (const listener of this.completedListeners)
                    listener(upload);
        });
        return upload;
    }
    /** Calls `listener` with each upload held here once it completed (its context stored). */
    onCompleted(listener) {
        this.completedListeners.push(listener);
    }
    /** Whether this replica holds (or still remembers) the upload, whoever may see it. */
    has(id) {
        this.forgetExpired();
        return this.open.has(id) || this.ended.has(id);
    }
    /** The upload with this id, if `scope` may see it; else the 404 of an unknown upload. */
    get(id, scope) {
        this.forgetExpired();
        const upload = this.open.get(id) ?? this.ended.get(id)?.upload;
        if (!upload || upload.phase === 'terminated' || (upload.spec.scope !== 'anonymous' && upload.spec.scope !== scope))
            throw Errors.uploadNotFound();
        return upload;
    }
    /** DELETE: the upload is reset; later requests get 404 (remembered as terminated, so every replica says so). */
    async terminate(upload) {
        await upload.terminate();
    }
    /** SIGTERM: no new uploads; open ones may still finish. */
    drain() {
        this.draining = true;
    }
    /** Resolves once no upload is open and how each ended is written to the shared store, or after `ms`. */
    async settledWithin(ms) {
        const until = Date.now() + ms;
        await settledWithin(Promise.all([...this.open.values()].map((u) => u.whenEnded())), ms);
        await settledWithin(Promise.all([...this.writes]), Math.max(0, until - Date.now()));
    }
    /** The end of a drain's grace: every upload still taking bytes is reset; its client is told it is gone. */
    endAll() {
        for (const upload of this.open.values()) {
            upload.end(Errors.uploadGone('The bridge shut down before the upload was complete; its upstream call was cancelled and nothing was stored'));
        }
    }
    retire(upload) {
        this.open.delete(upload.id);
        this.caps.release(upload.id);
        const sent = upload.phase === 'completed' || upload.phase === 'unknown';
        this.ended.set(upload.id, { upload, forgetAt: Date.now() + (sent ? this.limits.answerTtlMs : this.limits.expiryMs) });
        // Bounded: the oldest failed uploads are forgotten first, then the oldest completed ones
        // (a client whose final answer was lost reads it from HEAD); unknown outcomes never.
        while (this.ended.size > 4 * this.limits.maxUploads) {
            const oldest = this.oldestEnded((u) => u.phase === 'gone' || u.phase === 'terminated') ?? this.oldestEnded((u) => u.phase === 'completed');
            if (oldest === undefined)
                break;
            this.ended.delete(oldest);
        }
    }
    oldestEnded(which) {
        for (const [id, entry] of this.ended)
            if (which(entry.upload))
                return id;
        return undefined;
    }
    forgetExpired() {
        const now = Date.now();
        for (const [id, { forgetAt }] of this.ended)
            if (forgetAt <= now)
                this.ended.delete(id);
    }
}
//# sourceMappingURL=resumable-uploads.js.map