import { createGunzip } from 'node:zlib';
import { Errors } from '../errors.js';
/** Inflated bytes per zlib round trip: 64 KiB inflated about twice as fast as the 16 KiB default (measured). */
const INFLATE_CHUNK_BYTES = 64 * 1024;
/** Compressed bytes that may wait for the inflater before the download is held back. */
export const INFLATE_BACKLOG_BYTES = 256 * 1024;
/**
 * Whether a gzip stream ends with its last member's trailer: Node's gunzip
 * inflates every member and checks each CRC-32 and ISIZE, fails on a stream
 * that ends inside a member, and stops at zero padding after a trailer.
 * Pieces are written one at a time so that a stop is seen right after the
 * write that caused it (zlib leaves those bytes unconsumed); once stopped,
 * everything after must be zeros, and nothing more is written, because
 * zlib's answers to writes after such a stop are erratic.
 */
export class GzipEnd {
    host;
    limits;
    inflater;
    closed;
    isClosed = false;
    zlibError;
    failure;
    queue = [];
    queuedBytes = 0;
    pumping;
    waiters = [];
    received = 0;
    written = 0;
    inflated = 0;
    /** zlib stopped at zero padding after a trailer. */
    stopped = false;
    constructor(host, limits) {
        this.host = host;
        this.limits = limits;
        this.inflater = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
        this.inflater.on('data', (out) => {
            this.inflated += out.length;
            const over = this.overLimit();
            if (over)
                this.fail(Errors.importInflateLimit(this.host, over));
        });
        this.inflater.on('error', (err) => {
            this.zlibError ??= err;
        });
        this.closed = new Promise((resolve) => this.inflater.once('close', () => {
            this.isClosed = true;
            resolve();
        }));
    }
    update(piece) {
        if (this.failure)
            throw this.failure;
        this.received += piece.length;
        if (this.stopped) {
            this.expectPadding(piece);
            return;
        }
        this.queue.push(piece);
        this.queuedBytes += piece.length;
        this.pumping ??= this.pump();
    }
    /** Resolves once the inflater has room for more; undefined when it has room now. */
    ready() {
        if (this.failure || this.isClosed || this.queuedBytes < INFLATE_BACKLOG_BYTES)
            return undefined;
        return new Promise((resolve) => this.waiters.push(resolve));
    }
    async finish() {
        await this.pumping;
        if (!this.failure && !this.stopped) {
            this.inflater.end();
            await this.closed;
            if (this.zlibError)
                this.fail(this.incomplete());
        }
        if (this.failure)
            throw this.failure;
    }
    close() {
        this.inflater.destroy();
        this.wake();
    }
    async pump() {
        while (this.queue.length > 0 && !this.failure) {
            const piece = this.queue.shift();
            this.queuedBytes -= piece.length;
            if (this.stopped) {
                this.expectPadding(piece);
                continue;
            }
            this.written += piece.length;
            await Promise.race([new Promise((resolve) => this.inflater.write(piece, resolve)), this.closed]);
            if (this.isClosed) {
                this.fail(this.failure ?? this.incomplete());
                break;
            }
            const unconsumed = this.written - this.inflater.bytesWritten;
            if (unconsumed > 0) {
                this.stopped = true;
                this.expectPadding(piece.subarray(piece.length - unconsumed));
            }
            if (this.queuedBytes < INFLATE_BACKLOG_BYTES)
                this.wake();
        }
        this.pumping = undefined;
        this.wake();
    }
    expectPadding(bytes) {
        if (bytes.some((b) => b !== 0)) {
            this.fail(Errors.importIncomplete(this.host, 'bytes after the last gzip member\'s trailer are neither another member nor zero padding'));
        }
    }
    incomplete() {
        const err = this.zlibError;
        return Errors.importIncomplete(this.host, err?.code === 'Z_BUF_ERROR'
            ? 'the gzip stream ends before its last member\'s trailer (CRC-32 and length)'
            : `the gzip data is damaged (zlib: ${err?.message ?? 'closed early'})`);
    }
    overLimit() {
        const { maxInflatedBytes, inflateRatio, inflateAllowanceBytes } = this.limits;
        if (this.inflated > maxInflatedBytes)
            return `${maxInflatedBytes} bytes`;
        if (this.inflated > inflateAllowanceBytes + inflateRatio * this.received) {
            return `${inflateRatio} times the ${this.received} compressed bytes received so far (plus ${inflateAllowanceBytes} bytes)`;
        }
        return undefined;
    }
    fail(err) {
        this.failure ??= err;
        this.queue.length = 0;
        this.queuedBytes = 0;
        this.inflater.destroy();
        this.wake();
    }
    wake() {
        for (const wake of this.waiters.splice(0))
            wake();
    }
}
//# sourceMappingURL=gzip-end.js.map