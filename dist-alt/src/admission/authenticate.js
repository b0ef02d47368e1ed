import { createHash } from 'node:crypto';
import { Errors } from '../errors.js';
import { isSigned, SignatureCheck } from './signature.js';
/**
 * With WEBHOOK_SECRET unset nothing changes: Authorization is forwarded as is
 * and signature headers mean nothing. With it set, a request is either signed
 * (checked whatever else it carries; forwarded with IGNITE_SERVICE_TOKEN when
 * one is configured) or carries its own Authorization; neither is a 401.
 */
export function identifyCaller(headers, config, target) {
    const authorization = typeof headers.authorization === 'string' ? headers.authorization : undefined;
    if (config.webhookSecret && isSigned(headers)) {
        return {
            signature: new SignatureCheck(config.webhookSecret, headers, target),
            upstreamAuthorization: config.serviceToken ? `Bearer ${config.serviceToken}` : authorization,
            // One secret, one signing identity; a rotated secret starts a fresh key space.
            scope: `signature:${hash(config.webhookSecret)}`,
        };
    }
    if (config.webhookSecret && authorization === undefined) {
        throw Errors.unauthenticated('The request has neither a signature nor an Authorization header, and this bridge requires one of them');
    }
    return {
        signature: undefined,
        upstreamAuthorization: authorization,
        scope: authorization === undefined ? 'anonymous' : `authorization:${hash(authorization)}`,
    };
}
const hash = (value) => createHash('sha256').update(value).digest('hex');
//# sourceMappingURL=authenticate.js.map