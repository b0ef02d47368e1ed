import { randomFillSync } from 'node:crypto';
import { allocChunk } from '../src/grpc/chunk-serializer.js';
import { tarGzOfSize } from '../test/tar-gz.js';
export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
/** The chunk size the upstream expects, and the one the direct client sends. */
export const CHUNK = 512 * KIB;
/** How big the pieces are that the HTTP client hands to its socket (curl's upload buffer is 64 KiB). */
export const HTTP_PIECE = 64 * KIB;
/**
 * 16 MiB of random bytes, cycled to make archives of any size without
 * holding them: nothing on the path compresses, and a 16 MiB period is far
 * beyond any compressor's window anyway. The first chunk is a whole tar.gz
 * (random bytes in stored blocks), so the bridge's proof of the archive's
 * head passes; past it a large payload is random bytes, which nothing on
 * the path inflates. The pool is made of chunk buffers with serializer
 * headroom, so the direct client (the ceiling) sends them without a copy.
 */
const pool = Array.from({ length: 32 }, () => randomFillSync(allocChunk(CHUNK)));
tarGzOfSize(CHUNK).copy(pool[0]);
/** The archive as 512 KiB chunks (the last one shorter), for the direct gRPC client. */
export function* archiveChunks(size) {
    for (let sent = 0, i = 0; sent < size; sent += CHUNK, i++) {
        const chunk = pool[i % pool.length];
        yield size - sent >= CHUNK ? chunk : chunk.subarray(0, size - sent);
    }
}
/** The same bytes as `archiveChunks`, in socket-sized pieces, for the HTTP client. */
export function* archivePieces(size, piece = HTTP_PIECE) {
    for (const chunk of archiveChunks(size)) {
        for (let offset = 0; offset < chunk.length; offset += piece)
            yield chunk.subarray(offset, offset + piece);
    }
}
/** A small archive as one buffer (latency runs): a whole tar.gz of that size. */
export function smallArchive(size) {
    return tarGzOfSize(size);
}
//# sourceMappingURL=payload.js.map