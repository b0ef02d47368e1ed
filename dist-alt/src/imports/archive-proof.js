import { Readable } from 'node:stream';
import { Errors } from '../errors.js';
import { GzipEnd } from './gzip-end.js';
import { ZipTail } from './zip-end.js';
/** Inflation runs at 0.45–1.4 GB/s per core (measured): 8 × MAX_CONTEXT_BYTES keeps one proof within 30–90 s of CPU at the default limit. */
const MAX_INFLATED_PER_CONTEXT_BYTE = 8;
/** Source trees gzip 2–10×, tars of many tiny files ~30×; deflate bombs run near its 1032× maximum. */
const INFLATE_RATIO = 100;
/** Room for a zero-filled file early in a tar, before the ratio applies. */
const INFLATE_ALLOWANCE_BYTES = 64 * 1024 * 1024;
export function proofLimits(maxContextBytes) {
    return {
        maxInflatedBytes: Math.min(MAX_INFLATED_PER_CONTEXT_BYTE * maxContextBytes, Number.MAX_SAFE_INTEGER),
        inflateRatio: INFLATE_RATIO,
        inflateAllowanceBytes: INFLATE_ALLOWANCE_BYTES,
    };
}
/**
 * Proves, from the archive's own structure, that a download whose length
 * nothing announced arrived whole: fed every archive byte in order
 * (`update`), `finish` resolves only for a zip whose end records sit exactly
 * at the end, or a gzip inflated to its last member's trailer with every
 * CRC-32 and length checked. It keeps a bounded tail or a bounded inflate
 * backlog, never the archive.
 */
export class ArchiveProof {
    host;
    limits;
    zip;
    gzip;
    constructor(host, limits) {
        this.host = host;
        this.limits = limits;
    }
    update(piece) {
        if (piece.length === 0)
            return;
        // The streamer has sniffed the type before the first byte arrives here; its first byte tells gzip (1f) from zip (50).
        if (!this.zip && !this.gzip) {
            if (piece[0] === 0x1f)
                this.gzip = new GzipEnd(this.host, this.limits);
            else
                this.zip = new ZipTail();
        }
        if (this.gzip)
            this.gzip.update(piece);
        else
            this.zip.update(piece);
    }
    /** Resolves once the proof can take more bytes; undefined when it can now. */
    ready() {
        return this.gzip?.ready();
    }
    async finish() {
        if (this.gzip)
            return this.gzip.finish();
        const problem = this.zip?.problem();
        if (problem)
            throw Errors.importIncomplete(this.host, problem);
    }
    close() {
        this.gzip?.close();
    }
    /**
     * The download as the streamer should read it: a piece is handed on only
     * once the inflater has room, so a fast source waits for the proof
     * instead of piling up compressed bytes in front of it.
     */
    paced(body) {
        const paced = Readable.from((async function* (proof) {
            for await (const piece of body) {
                await proof.ready();
                yield piece;
            }
        })(this), { highWaterMark: 1 });
        // Errors reach the streamer through its own listener; once it has stopped reading, a late error of the abandoned download has no one to go to.
        paced.on('error', () => { });
        return paced;
    }
}
//# sourceMappingURL=archive-proof.js.map