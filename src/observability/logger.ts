import type { FastifyLoggerStreamDestination, PinoLoggerOptions } from 'fastify/types/logger.js';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { tracing } from './tracing.js';

export interface LogFormat {
  /** One readable line per event (pino-pretty) instead of JSON; default: stdout is a terminal. */
  pretty?: boolean;
}

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
export function loggerOptions(
  config: Pick<Config, 'logLevel'>,
  stream?: FastifyLoggerStreamDestination,
  { pretty = Boolean(process.stdout.isTTY) }: LogFormat = {},
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
    // A line written while a request is handled names its trace (tracing on only: no cost when off).
    ...(tracing.on ? { mixin: () => tracing.logFields() } : {}),
    ...(stream
      ? { stream }
      : pretty
        ? { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
        : {}),
  };
}

const logged = Symbol('requestLogged');
type Marked = FastifyRequest & { [logged]?: true };

/** The request has its line already (an upload's, a refusal's), so the request line is not written. */
export function markRequestLogged(request: FastifyRequest): void {
  (request as Marked)[logged] = true;
}

export function requestLogged(request: FastifyRequest): boolean {
  return (request as Marked)[logged] === true;
}

/**
 * One line per request, once it is answered, naming the request and its
 * status (Fastify's own are two: "incoming request" and "request completed").
 * An upload's line is its upload line (UploadObserver), a refusal's names
 * its reason (the error handler). Probes and scrapes log at warn, so not at
 * all.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (requestLogged(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
