import { createHmac, timingSafeEqual } from 'node:crypto';
import { Errors } from '../errors.js';
/** How far X-Signature-Timestamp may be from the bridge's clock, either way: the replay window. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;
export const SIGNATURE_HEADER = 'x-signature-256';
export const TIMESTAMP_HEADER = 'x-signature-timestamp';
/** True when the request carries either signature header (it then must be a valid signed request). */
export function isSigned(headers) {
    return headers[SIGNATURE_HEADER] !== undefined || headers[TIMESTAMP_HEADER] !== undefined;
}
/**
 * HMAC-SHA256 keyed with WEBHOOK_SECRET, fed while the body streams past:
 * v1 (`X-Signature-256: sha256=<hex>`) over `timestamp + "." + raw body`;
 * v2 (`X-Signature-256: v2=<hex>`) over `timestamp.METHOD.path?query.` and
 * the raw body, so a query (e.g. `?build=`) cannot be changed either. The
 * headers are checked when it is created (before the body); the MAC only once
 * the last byte is in.
 */
export class SignatureCheck {
    hmac;
    expected;
    /** 2 when the method and target are signed too. */
    version;
    constructor(secret, headers, target, nowSeconds = Math.floor(Date.now() / 1000)) {
        const signature = single(headers[SIGNATURE_HEADER], 'X-Signature-256');
        const timestamp = single(headers[TIMESTAMP_HEADER], 'X-Signature-Timestamp');
        const [, scheme, hex] = /^(sha256|v2)=([0-9a-fA-F]{64})$/.exec(signature.trim()) ?? [];
        if (!hex)
            throw Errors.unauthenticated('X-Signature-256 is not `sha256=` (or `v2=`) followed by 64 hex digits');
        this.version = scheme === 'v2' ? 2 : 1;
        if (this.version === 2 && !target)
            throw Errors.unauthenticated('A v2 signature is only accepted on single-request uploads and imports');
        if (!/^\d{1,12}$/.test(timestamp.trim()))
            throw Errors.unauthenticated('X-Signature-Timestamp is not a Unix time in seconds');
        const skew = Math.abs(nowSeconds - Number(timestamp.trim()));
        if (skew > SIGNATURE_WINDOW_SECONDS) {
            throw Errors.unauthenticated(`X-Signature-Timestamp is ${skew} s away from the bridge's clock (at most ${SIGNATURE_WINDOW_SECONDS} s are accepted, so a captured request cannot be replayed later): sign with the current time`);
        }
        this.expected = Buffer.from(hex, 'hex');
        this.hmac = createHmac('sha256', secret).update(this.version === 2 ? `${timestamp.trim()}.${target.method}.${target.url}.` : `${timestamp.trim()}.`);
    }
    update(piece) {
        this.hmac.update(piece);
    }
    /** Throws 401 unless the MAC over everything fed matches; constant time. */
    verify() {
        if (!timingSafeEqual(this.hmac.digest(), this.expected)) {
            throw Errors.unauthenticated('The X-Signature-256 HMAC does not match the body (wrong secret, or the body or timestamp changed in transit)');
        }
    }
}
function single(value, name) {
    if (value === undefined)
        throw Errors.unauthenticated(`The request is signed but has no ${name} header`);
    if (Array.isArray(value))
        throw Errors.unauthenticated(`${name} is given more than once`);
    return value;
}
//# sourceMappingURL=signature.js.map