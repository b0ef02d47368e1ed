import { Errors } from '../errors.js';
/**
 * The Idempotency-Key header (IETF httpapi draft): a Structured Fields
 * string, `"…"`; a bare token is accepted too, as many clients send one.
 */
export function idempotencyKey(header) {
    if (header === undefined)
        return undefined;
    if (Array.isArray(header))
        throw Errors.invalidIdempotencyKey('is given more than once');
    let key = header.trim();
    const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(key);
    if (quoted)
        key = quoted[1].replace(/\\(["\\])/g, '$1');
    if (key.length === 0 || key.length > 255)
        throw Errors.invalidIdempotencyKey(`is ${key.length} characters long`);
    if (!/^[\x20-\x7e]+$/.test(key))
        throw Errors.invalidIdempotencyKey('contains characters outside printable ASCII');
    return key;
}
//# sourceMappingURL=idempotency-key.js.map