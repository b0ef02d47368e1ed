import { tracing } from './tracing.js';
/**
 * Fastify's pino options. Request headers are not logged by Fastify's
 * serializers; the redaction is the second line of defence should anyone log
 * a request's headers or the forwarded gRPC metadata.
 *
 * JSON lines unless a person is watching: containers, CI, log shippers and
 * tests get JSON; a terminal gets pino-pretty, which runs in pino's transport
 * worker thread so formatting never delays a request. A given stream is
 * always written JSON.
 */
export function loggerOptions(config, stream, { pretty = Boolean(process.stdout.isTTY) } = {}) {
    return {
        level: config.logLevel,
        redact: {
            paths: [
                'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-signature-256"]',
                'headers.authorization', 'headers.cookie', 'metadata.authorization', '*.headers.authorization',
            ],
            censor: '[redacted]',
        },
        // A line written while a request is handled names its trace (tracing on only: no cost when off).
        ...(tracing.on ? { mixin: () => tracing.logFields() } : {}),
        ...(stream
            ? { stream }
            : pretty
                ? { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
                : {}),
    };
}
//# sourceMappingURL=logger.js.map