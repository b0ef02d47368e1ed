import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { Errors } from '../errors.js';
import { isSigned, SignatureCheck, type SignedTarget } from './signature.js';

type Headers = Record<string, string | string[] | undefined>;

/** Who is calling, decided from the headers alone (before the body). */
export interface Caller {
  /** Set for a signed request: feed it the raw body, verify it before anything is committed. */
  signature: SignatureCheck | undefined;
  /** The Authorization to send upstream: IGNITE_SERVICE_TOKEN for a signed request, whose call commits only once `signature` verified. */
  upstreamAuthorization: string | undefined;
  /** Opaque and stable per credential: Idempotency-Keys never cross it. */
  scope: string;
}

/**
 * With WEBHOOK_SECRET unset nothing changes: Authorization is forwarded as is
 * and signature headers mean nothing. With it set, a request is either signed
 * (checked whatever else it carries; forwarded with IGNITE_SERVICE_TOKEN when
 * one is configured) or carries its own Authorization; neither is a 401.
 */
export function identifyCaller(headers: Headers, config: Pick<Config, 'webhookSecret' | 'serviceToken'>, target?: SignedTarget): Caller {
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

const hash = (value: string) => createHash('sha256').update(value).digest('hex');
