import { constants, gunzipSync } from 'node:zlib';
import { Errors } from '../errors.js';
import { ZipTail, zipEndProblem } from '../imports/zip-end.js';
/**
 * Compressed bytes the sniff holds (unless the body ends first) and inflates
 * before the call opens. `curl -d` strips every CR and LF: 64 KiB of deflate
 * data without one of them is practically impossible, so the damage shows
 * within them.
 */
export const ARCHIVE_HEAD_BYTES = 64 * 1024;
/** Inflating stops here: a run of zeros (a 200 MB empty file first) proves nothing more past it, and costs 1.6 ms to reach. */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;
/** Compressed bytes tried first for a tar header when the head inflates past the cap (deflate's best ratio is 1032:1: at most ~0.5 MB out). */
const HEADER_PROBE_BYTES = 512;
/** Inflated bytes per zlib round trip: fewer, larger pieces to join (64 KiB measured about twice as fast as the 16 KiB default for imports). */
const INFLATE_CHUNK_BYTES = 64 * 1024;
const MAX_DEFLATE_RATIO = 1032;
const TAR_BLOCK_BYTES = 512;
const TAR_CHECKSUM_AT = 148;
const TAR_CHECKSUM_BYTES = 8;
const ZIP_LOCAL_HEADER_BYTES = 30;
const ZIP_END_SIGNATURE = 0x06054b50;
/** APPNOTE 6.3 is the newest version a zip may need to be extracted. */
const MAX_ZIP_VERSION = 63;
/**
 * The proof an archive gives of itself before any of it is forwarded: its
 * head (the first ARCHIVE_HEAD_BYTES, or the whole body when shorter) must
 * inflate to a tar header, or start with a zip entry; a zip's end must also
 * hold its end records where they say they are, checked before the last
 * chunk is sent. Every failure is a 400 naming the fix.
 */
export class ArchiveHead {
    zipTail;
    /** Judges the head; `whole` when the body ended within it (then a gzip must reach its trailer, a zip its end record). */
    prove(type, head, whole) {
        if (type === 'application/gzip')
            return proveGzip(head, whole);
        proveZipStart(head);
        if (whole)
            refuseZipEnd(zipEndProblem(head, 0));
        else
            this.zipTail = new ZipTail();
    }
    /** Every archive byte after the head's proof, in order (a zip's end is kept). */
    update(bytes) {
        this.zipTail?.update(bytes);
    }
    /** Once the body ended: a zip whose head was proven alone must also end where its records say. */
    end() {
        refuseZipEnd(this.zipTail?.problem());
    }
}
function proveGzip(body, whole) {
    const head = body.subarray(0, ARCHIVE_HEAD_BYTES);
    // A body that ended within the head must reach its last member's trailer (CRC-32 and length checked).
    const finishFlush = whole && head.length === body.length ? constants.Z_FINISH : constants.Z_SYNC_FLUSH;
    let inflated;
    try {
        inflated = gunzipSync(head, { finishFlush, maxOutputLength: MAX_INFLATED_BYTES, chunkSize: INFLATE_CHUNK_BYTES });
    }
    catch (err) {
        if (err.code !== 'ERR_BUFFER_TOO_LARGE')
            throw gzipDamaged(err);
        inflated = firstInflatedBlock(head);
    }
    proveTar(inflated, whole);
}
/** The first tar block of a head that inflates past the cap: a short prefix inflated again, grown until it yields a block. */
function firstInflatedBlock(head) {
    for (let probe = HEADER_PROBE_BYTES;; probe *= 4) {
        const input = head.subarray(0, probe);
        const out = gunzipSync(input, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DEFLATE_RATIO * input.length + TAR_BLOCK_BYTES });
        if (out.length >= TAR_BLOCK_BYTES || input.length === head.length)
            return out;
    }
}
function gzipDamaged(err) {
    const e = err;
    const what = e.code === 'Z_BUF_ERROR'
        ? 'the gzip stream ends before its trailer (the body was cut short)'
        : `the gzip data is damaged within its first ${ARCHIVE_HEAD_BYTES} bytes (zlib: ${e.message ?? 'unreadable'})`;
    return Errors.archiveCorrupt(what);
}
function proveTar(inflated, whole) {
    if (inflated.length === 0 && whole) {
        throw Errors.emptyArchive('The gzip archive inflates to nothing');
    }
    if (inflated.length < TAR_BLOCK_BYTES) {
        throw Errors.notATar(`it inflates to ${inflated.length} bytes${whole ? '' : ` from its first ${ARCHIVE_HEAD_BYTES}`}, less than one 512-byte tar header`);
    }
    const block = inflated.subarray(0, TAR_BLOCK_BYTES);
    if (block.every((b) => b === 0))
        throw Errors.emptyArchive('The tar archive inside the gzip starts with its end (a zero block): it holds no files');
    if (!tarChecksumValid(block)) {
        throw Errors.notATar('its first 512 bytes, inflated, are not a tar header (the header checksum does not match)');
    }
}
/** POSIX and older tars: the checksum field is octal (leading spaces allowed) ended by NUL or space, over the header with that field as spaces, bytes summed unsigned or (old Sun tars) signed. */
export function tarChecksumValid(block) {
    const end = TAR_CHECKSUM_AT + TAR_CHECKSUM_BYTES;
    let at = TAR_CHECKSUM_AT;
    while (at < end && block[at] === 0x20)
        at++;
    let stored = 0;
    const firstDigit = at;
    for (; at < end && block[at] >= 0x30 && block[at] <= 0x37; at++)
        stored = stored * 8 + block[at] - 0x30;
    if (at === firstDigit || at === end)
        return false;
    for (; at < end; at++)
        if (block[at] !== 0 && block[at] !== 0x20)
            return false;
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < TAR_BLOCK_BYTES; i++) {
        const b = i >= TAR_CHECKSUM_AT && i < end ? 0x20 : block[i];
        unsigned += b;
        signed += b > 127 ? b - 256 : b;
    }
    return stored === unsigned || stored === signed;
}
/** Sizes, CRC and method are not judged: data descriptors, ZIP64 and any method pass. */
function proveZipStart(head) {
    if (head.length >= 4 && head.readUInt32LE(0) === ZIP_END_SIGNATURE) {
        throw Errors.emptyArchive('The zip archive is only an end record: it holds no files');
    }
    if (head.length < ZIP_LOCAL_HEADER_BYTES) {
        throw Errors.archiveCorrupt(`the zip ends after ${head.length} bytes, within its first entry's header`);
    }
    const version = head[4];
    if (version > MAX_ZIP_VERSION) {
        throw Errors.archiveCorrupt(`its first zip entry needs version ${version / 10} to extract (6.3 is the newest)`);
    }
    if (head.readUInt16LE(26) === 0) {
        throw Errors.archiveCorrupt('its first zip entry has no name');
    }
}
function refuseZipEnd(problem) {
    if (problem)
        throw Errors.archiveCorrupt(problem);
}
//# sourceMappingURL=archive-head.js.map