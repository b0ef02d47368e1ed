/** The archive type is decided by the first bytes; a declared Content-Type is only a hint. */
/** Bytes needed to tell every accepted type apart. */
export const SNIFF_BYTES = 4;
export function detectArchiveType(head) {
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)
        return 'application/gzip';
    // PK\x03\x04: a local file header; PK\x05\x06: the end record of an empty zip.
    if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b
        && ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06))) {
        return 'application/zip';
    }
    return undefined;
}
/** How a refused body starts, for the error message: hex of the first bytes. */
export function describeHead(head) {
    const shown = head.subarray(0, SNIFF_BYTES);
    return shown.length ? `bytes ${[...shown].map((b) => b.toString(16).padStart(2, '0')).join(' ')}` : '';
}
//# sourceMappingURL=archive-type.js.map