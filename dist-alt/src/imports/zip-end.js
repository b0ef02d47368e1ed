/**
 * Whether a zip ends where its own records say it ends. Only the tail is
 * needed: the end-of-central-directory record (22 bytes and a comment of at
 * most 65535), preceded by the ZIP64 locator (20) and ZIP64 record (56) when
 * the archive has them.
 */
const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_BYTES = 56;
export const ZIP_TAIL_BYTES = MAX_COMMENT_BYTES + EOCD_BYTES + ZIP64_LOCATOR_BYTES + ZIP64_EOCD_BYTES;
/** Keeps the last ZIP_TAIL_BYTES of a stream of any length, and how many bytes went past. */
export class ZipTail {
    buffer = Buffer.alloc(0);
    length = 0;
    total = 0;
    update(piece) {
        this.total += piece.length;
        if (piece.length >= ZIP_TAIL_BYTES) {
            this.buffer = Buffer.from(piece.subarray(piece.length - ZIP_TAIL_BYTES));
            this.length = ZIP_TAIL_BYTES;
            return;
        }
        if (this.buffer.length < 2 * ZIP_TAIL_BYTES) {
            const grown = Buffer.alloc(2 * ZIP_TAIL_BYTES);
            this.buffer.copy(grown, 0, 0, this.length);
            this.buffer = grown;
        }
        // Twice the window, so the copy that keeps the window happens once per window's worth of bytes.
        if (this.length + piece.length > this.buffer.length) {
            const keep = ZIP_TAIL_BYTES - piece.length;
            this.buffer.copyWithin(0, this.length - keep, this.length);
            this.length = keep;
        }
        piece.copy(this.buffer, this.length);
        this.length += piece.length;
    }
    /** What is wrong with the end of the zip, or undefined when it ends exactly where its records say. */
    problem() {
        const tail = this.buffer.subarray(Math.max(0, this.length - ZIP_TAIL_BYTES), this.length);
        return zipEndProblem(tail, this.total - tail.length);
    }
}
/**
 * `tail` is the end of the archive and `tailStart` its offset in the
 * archive. The end record nearest the end whose comment reaches exactly to
 * the last byte is the one a reader uses; its central directory must end
 * exactly where the end records begin. A stream cut right after a stored
 * inner zip ends with an end record too, but its offsets count from the
 * inner zip's start, so they fall short of its position in the outer one.
 */
export function zipEndProblem(tail, tailStart) {
    const lowest = Math.max(0, tail.length - EOCD_BYTES - MAX_COMMENT_BYTES);
    for (let at = tail.length - EOCD_BYTES; at >= lowest; at--) {
        if (tail.readUInt32LE(at) !== EOCD_SIGNATURE)
            continue;
        if (tail.readUInt16LE(at + 20) !== tail.length - at - EOCD_BYTES)
            continue;
        return directoryProblem(tail, at, tailStart);
    }
    return 'no end-of-central-directory record ends the zip (none whose comment length reaches exactly to its last byte)';
}
function directoryProblem(tail, eocd, tailStart) {
    const locator = eocd - ZIP64_LOCATOR_BYTES;
    if (locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR_SIGNATURE)
        return zip64Problem(tail, locator, tailStart);
    const size = tail.readUInt32LE(eocd + 12);
    const offset = tail.readUInt32LE(eocd + 16);
    const position = tailStart + eocd;
    if (offset + size === position)
        return undefined;
    return `the end-of-central-directory record at offset ${position} says the central directory (offset ${offset}, ${size} bytes) ends at offset ${offset + size}`;
}
function zip64Problem(tail, locator, tailStart) {
    const recordPosition = tail.readBigUInt64LE(locator + 8);
    const record = Number(recordPosition - BigInt(tailStart));
    if (record < 0 || record + ZIP64_EOCD_BYTES > locator || tail.readUInt32LE(record) !== ZIP64_EOCD_SIGNATURE) {
        return `the ZIP64 locator points at offset ${recordPosition}, where no ZIP64 end record lies just before it`;
    }
    if (BigInt(record) + 12n + tail.readBigUInt64LE(record + 4) !== BigInt(locator)) {
        return `the ZIP64 end record at offset ${recordPosition} does not end where its locator begins`;
    }
    const size = tail.readBigUInt64LE(record + 40);
    const offset = tail.readBigUInt64LE(record + 48);
    if (offset + size === recordPosition)
        return undefined;
    return `the ZIP64 end record at offset ${recordPosition} says the central directory (offset ${offset}, ${size} bytes) ends at offset ${offset + size}`;
}
//# sourceMappingURL=zip-end.js.map