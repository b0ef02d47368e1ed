import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';
const TEMP_PREFIX = '.incoming-';
const CONTEXT_ID = /^ctx_[0-9A-HJKMNP-TV-Z]{26}$/;
/**
 * Stores contexts as IGNITE_DATA_DIR/contexts/<context_id> beside
 * <context_id>.json. Bytes go to a temp file first and are renamed into place
 * only after an fsync on a clean end, so a reader never sees a partial archive.
 * The record is renamed last: it is the commit marker, so a record always has
 * its file. Names are metadata only: a path is only ever built from a generated id.
 */
export class ContextStore {
    dir;
    constructor(dataDir) {
        this.dir = join(dataDir, 'contexts');
    }
    /**
     * Creates the directory and removes what a crash left behind: temp files,
     * and any half-committed pair (a context without its record, or a record
     * without its context). Files that are neither are left alone.
     */
    async init() {
        await mkdir(this.dir, { recursive: true });
        const entries = await readdir(this.dir);
        const present = new Set(entries);
        for (const entry of entries) {
            const id = entry.endsWith('.json') ? entry.slice(0, -'.json'.length) : entry;
            const halfCommitted = CONTEXT_ID.test(id) && !(present.has(id) && present.has(`${id}.json`));
            if (entry.startsWith(TEMP_PREFIX) || halfCommitted)
                await unlink(join(this.dir, entry)).catch(() => { });
        }
    }
    begin() {
        return new IncomingContext(this.dir, join(this.dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`));
    }
    path(contextId) {
        return join(this.dir, contextId);
    }
}
/** Thrown by commit() when the call was cancelled before anything became visible. */
export class CommitCancelledError extends Error {
    name = 'CommitCancelledError';
}
export class IncomingContext {
    dir;
    tempPath;
    stream;
    recordTempPath;
    /** `publishing`: past the point of no return, the renames are running. */
    state = 'writing';
    cancelRequested = false;
    committing;
    constructor(dir, tempPath) {
        this.dir = dir;
        this.tempPath = tempPath;
        this.stream = createWriteStream(tempPath, { flags: 'wx', highWaterMark: 1024 * 1024 });
        this.recordTempPath = `${tempPath}.json`;
    }
    /**
     * Makes the file and its record durable under temp names, then (unless the
     * call is no longer wanted) renames both into place and fsyncs the directory.
     * A cancel before the renames stops it with nothing visible; once the renames
     * have started, the commit finishes. Rejects with CommitCancelledError when stopped.
     */
    commit(record, options = {}) {
        this.state = 'committing';
        const committing = this.writeAndRename(record, options).then((full) => {
            this.state = 'done';
            return full;
        }, async (err) => {
            await this.discard();
            throw err;
        });
        this.committing = committing.catch(() => { });
        return committing;
    }
    async writeAndRename(record, { stillWanted = () => true, onStep }) {
        const stopIfUnwanted = () => {
            if (this.cancelRequested || !stillWanted())
                throw new CommitCancelledError('the call was cancelled before the context was stored');
        };
        await new Promise((resolve, reject) => {
            this.stream.once('error', reject);
            this.stream.end(() => resolve());
        });
        await syncPath(this.tempPath);
        await onStep?.('after-fsync');
        stopIfUnwanted();
        const contextId = `ctx_${ulid()}`;
        const full = { contextId, ...record, createdAt: new Date().toISOString() };
        const handle = await open(this.recordTempPath, 'wx');
        try {
            await handle.writeFile(JSON.stringify(full, null, 2) + '\n');
            await handle.sync();
        }
        finally {
            await handle.close();
        }
        await onStep?.('after-record');
        // The point of no return: a cancel from here on is too late, and the call ends OK.
        stopIfUnwanted();
        this.state = 'publishing';
        const contextPath = join(this.dir, contextId);
        const recordPath = join(this.dir, `${contextId}.json`);
        // The context first, its record last: whoever finds a record can open its
        // file, and a crash in between leaves a file without a record, which
        // nothing reads and start-up removes.
        await rename(this.tempPath, contextPath);
        try {
            await onStep?.('between-renames');
            await rename(this.recordTempPath, recordPath);
            await onStep?.('after-renames');
            await syncPath(this.dir);
        }
        catch (err) {
            // A failed commit must not leave half a pair (nor a pair that may not survive a crash): record first, as it marks the commit.
            await unlink(recordPath).catch(() => { });
            await unlink(contextPath).catch(() => { });
            throw err;
        }
        return full;
    }
    /**
     * Drops the partial file, or asks a running commit to stop; resolves once
     * the outcome is final, with what it is: a commit past its point of no
     * return finishes. Safe to call more than once.
     */
    async abort() {
        if (this.state === 'committing')
            this.cancelRequested = true;
        if (this.committing)
            await this.committing;
        else
            await this.discard();
        return this.state === 'done' ? 'stored' : 'discarded';
    }
    async discard() {
        if (this.state === 'discarded')
            return;
        this.state = 'discarded';
        if (!this.stream.closed) {
            const closed = new Promise((resolve) => this.stream.once('close', () => resolve()));
            this.stream.destroy();
            await closed;
        }
        await unlink(this.tempPath).catch(() => { });
        await unlink(this.recordTempPath).catch(() => { });
    }
}
/** fsync a file, or a directory (so the renames in it survive a crash). */
async function syncPath(path) {
    const handle = await open(path, 'r');
    try {
        await handle.sync();
    }
    finally {
        await handle.close();
    }
}
//# sourceMappingURL=context-store.js.map