import type { FastifyLoggerStreamDestination, PinoLoggerOptions } from 'fastify/types/logger.js';
import type { Config } from '../config.js';

/**
 * Fastify's pino options. Request headers are not logged by Fastify's
 * serializers; the redaction is the second line of defence should anyone log
 * a request's headers or the forwarded gRPC metadata.
 */
export function loggerOptions(
  config: Pick<Config, 'logLevel'>,
  stream?: FastifyLoggerStreamDestination,
): PinoLoggerOptions & { stream?: FastifyLoggerStreamDestination } {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-signature-256"]',
        'headers.authorization', 'headers.cookie', 'metadata.authorization', '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
    ...(stream ? { stream } : {}),
  };
}
