import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { TUS_EXTENSIONS, TUS_VERSION } from '../tus-protocol.js';

/** OPTIONS: the protocol version, extensions and maximum size this bridge speaks (no Tus-Resumable needed). */
export function optionsHandler(config: Config) {
  return async (_request: FastifyRequest, reply: FastifyReply) => reply.code(204).headers({
    'tus-version': TUS_VERSION,
    'tus-extension': TUS_EXTENSIONS,
    'tus-max-size': String(config.maxContextBytes),
  }).send();
}
