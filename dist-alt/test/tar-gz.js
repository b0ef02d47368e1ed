import { randomFillSync } from 'node:crypto';
import { constants, crc32, deflateRawSync } from 'node:zlib';
/**
 * Real tar.gz archives of an exact size, as cheap to make as random bytes:
 * a tar of one file of random bytes, its header deflated, its content in
 * stored (level-0) deflate blocks filled in place, its end (padding and the
 * two zero blocks) deflated, and a gzip comment (FCOMMENT) of spaces that
 * makes up the exact size. `gzip -t` and `tar -t` accept them.
 */
export const TAR_BLOCK = 512;
/** Data bytes a stored deflate block can carry. */
export const STORED_BLOCK_DATA = 65_535;
const STORED_BLOCK_HEADER = 5;
const GZIP_HEADER = 10;
const GZIP_TRAILER = 8;
const FCOMMENT = 0x10;
const ZERO_TAIL = Buffer.alloc(2 * TAR_BLOCK + TAR_BLOCK);
/** A ustar header for one regular file, with a valid checksum. */
export function tarHeader(name, size) {
    const header = Buffer.alloc(TAR_BLOCK);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\x0000', 257);
    let sum = 0;
    for (const b of header)
        sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return header;
}
/** Zero bytes after `contentBytes` of file content: padding to a block, then the two end blocks. */
const tailBytes = (contentBytes) => (TAR_BLOCK - (contentBytes % TAR_BLOCK)) % TAR_BLOCK + 2 * TAR_BLOCK;
const storedBlocks = (contentBytes) => Math.ceil(contentBytes / STORED_BLOCK_DATA);
function parts(contentBytes) {
    return {
        contentBytes,
        head: deflateRawSync(tarHeader('random.bin', contentBytes), { level: 9, finishFlush: constants.Z_SYNC_FLUSH }),
        tail: deflateRawSync(ZERO_TAIL.subarray(0, tailBytes(contentBytes)), { level: 9 }),
    };
}
const framedBytes = (p) => GZIP_HEADER + p.head.length + STORED_BLOCK_HEADER * storedBlocks(p.contentBytes) + p.contentBytes + p.tail.length + GZIP_TRAILER;
/** The smallest archive this makes (an empty file): 85 bytes. */
export const MIN_TAR_GZ_BYTES = framedBytes(parts(0));
/** The largest file content that fits `size`, the rest made up by the comment; undefined below the smallest archive. */
function layoutFor(size) {
    // The deflated header and tail vary by a byte or two with the content length: start just above, go down until it fits.
    const start = size - MIN_TAR_GZ_BYTES - STORED_BLOCK_HEADER * storedBlocks(size) + 4;
    for (let contentBytes = Math.max(0, start); contentBytes >= 0; contentBytes--) {
        const p = parts(contentBytes);
        const padding = size - framedBytes(p);
        if (padding >= 0)
            return { ...p, padding };
    }
    return undefined;
}
/**
 * A real tar.gz of exactly `size` bytes holding one file of random bytes
 * (`fill` writes them). Below MIN_TAR_GZ_BYTES there is no such archive:
 * the smallest one cut to `size` is returned, for callers that bypass the
 * bridge's proof (the upstream stores any bytes).
 */
export function tarGzOfSize(size, fill = randomFillSync) {
    const layout = layoutFor(size);
    if (!layout)
        return tarGzOfSize(MIN_TAR_GZ_BYTES, fill).subarray(0, size);
    const out = Buffer.allocUnsafe(size);
    let at = writeGzipHeader(out, layout.padding);
    at += layout.head.copy(out, at);
    let crc = crc32(tarHeader('random.bin', layout.contentBytes));
    for (let left = layout.contentBytes; left > 0;) {
        const n = Math.min(left, STORED_BLOCK_DATA);
        at = writeStoredBlockHeader(out, at, n);
        const data = out.subarray(at, at + n);
        fill(data);
        crc = crc32(data, crc);
        at += n;
        left -= n;
    }
    at += layout.tail.copy(out, at);
    const tarBytes = TAR_BLOCK + layout.contentBytes + tailBytes(layout.contentBytes);
    crc = crc32(ZERO_TAIL.subarray(0, tailBytes(layout.contentBytes)), crc);
    out.writeUInt32LE(crc >>> 0, at);
    out.writeUInt32LE(tarBytes % 2 ** 32, at + 4);
    return out;
}
/** A gzip member header at the start of `out` (deflate, no name, mtime 0, OS unknown), with a comment of `padding` bytes when asked. */
export function writeGzipHeader(out, padding) {
    out.set([0x1f, 0x8b, 8, padding ? FCOMMENT : 0, 0, 0, 0, 0, 0, 255]);
    if (!padding)
        return GZIP_HEADER;
    out.fill(0x20, GZIP_HEADER, GZIP_HEADER + padding - 1);
    out[GZIP_HEADER + padding - 1] = 0;
    return GZIP_HEADER + padding;
}
/** A stored, not final, deflate block header on a byte boundary (BFINAL 0, BTYPE 00, LEN, NLEN). */
export function writeStoredBlockHeader(out, at, length) {
    out[at] = 0;
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    return at + STORED_BLOCK_HEADER;
}
//# sourceMappingURL=tar-gz.js.map