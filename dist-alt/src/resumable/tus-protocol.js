import { Errors } from '../errors.js';
/** The tus 1.0 protocol's constants and header grammar, as this bridge speaks it. */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,creation-defer-length,termination,expiration';
export const PATCH_CONTENT_TYPE = 'application/offset+octet-stream';
/** Room for a name, a build name (255 bytes) and 16 tags, base64-encoded, and a client's own fields. */
const MAX_METADATA_BYTES = 8192;
/** A non-negative integer header (Upload-Length, Upload-Offset); undefined when absent. */
export function byteCount(name, value) {
    if (value === undefined)
        return undefined;
    const text = Array.isArray(value) ? undefined : value.trim();
    const n = text !== undefined && /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n))
        throw Errors.invalidTusHeader(`${name} is ${JSON.stringify(value)}, not a byte count`);
    return n;
}
/**
 * Upload-Metadata: comma-separated `key base64value` pairs (the value may be
 * absent). Answers the decoded values; the raw header is kept to echo in HEAD.
 */
export function parseMetadata(value) {
    const pairs = new Map();
    if (value === undefined || (typeof value === 'string' && value.trim() === ''))
        return pairs;
    if (Array.isArray(value))
        throw Errors.invalidTusHeader('Upload-Metadata is given more than once');
    // It is kept with the upload (in Redis too) and echoed by HEAD: a name and a few fields, not a payload.
    if (value.length > MAX_METADATA_BYTES)
        throw Errors.invalidTusHeader(`Upload-Metadata is ${value.length} bytes, more than the ${MAX_METADATA_BYTES} kept`);
    for (const pair of value.split(',')) {
        const [key, encoded = '', ...rest] = pair.trim().split(' ');
        if (!key || !/^[\x21-\x7e]+$/.test(key) || rest.length > 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1) {
            throw Errors.invalidTusHeader(`Upload-Metadata has a malformed pair ${JSON.stringify(pair.trim())} (expected "key base64value", comma-separated)`);
        }
        if (pairs.has(key))
            throw Errors.invalidTusHeader(`Upload-Metadata gives "${key}" twice`);
        pairs.set(key, Buffer.from(encoded, 'base64').toString('utf8'));
    }
    return pairs;
}
/** Upload-Expires is an RFC 9110 HTTP-date. */
export function httpDate(ms) {
    return new Date(ms).toUTCString();
}
//# sourceMappingURL=tus-protocol.js.map