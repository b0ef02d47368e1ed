/**
 * Cuts any sequence of byte pieces into chunks of exactly `size` bytes (the
 * last may be shorter). Each byte is copied once, into a buffer from `alloc`
 * (the target's own, e.g. with headroom for the gRPC message header, so
 * sending it copies nothing). Synchronous while the sink keeps up: no promise
 * per piece.
 */
export class Rechunker {
    size;
    alloc;
    chunk;
    filled = 0;
    constructor(size, alloc = (n) => Buffer.allocUnsafeSlow(n)) {
        this.size = size;
        this.alloc = alloc;
    }
    /**
     * Copies `piece` (from `offset` on) into chunks, handing each full one to
     * `sink`. When the sink asks to wait, the rest of the piece is copied once
     * it settled: at most one partial chunk is held besides those sent.
     */
    push(piece, sink, offset = 0) {
        while (offset < piece.length) {
            const chunk = (this.chunk ??= this.alloc(this.size));
            const n = Math.min(this.size - this.filled, piece.length - offset);
            piece.copy(chunk, this.filled, offset, offset + n);
            this.filled += n;
            offset += n;
            if (this.filled === this.size) {
                this.chunk = undefined;
                this.filled = 0;
                const wait = sink(chunk);
                if (wait) {
                    const rest = offset;
                    return rest < piece.length ? wait.then(() => this.push(piece, sink, rest)) : wait;
                }
            }
        }
        return undefined;
    }
    /** The last, shorter chunk once the pieces are over; undefined when nothing is left. */
    end() {
        const chunk = this.chunk?.subarray(0, this.filled);
        this.chunk = undefined;
        this.filled = 0;
        return chunk?.length ? chunk : undefined;
    }
}
//# sourceMappingURL=rechunk.js.map