import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { discardBody } from '../../http/discard-body.js';
import { reached, type Found, type UploadStore } from '../upload-store.js';
import { refusalOf } from './recorded-end.js';

/**
 * DELETE (termination): the upload's call is reset and nothing is stored;
 * later requests get 404. Too late once its bytes were all sent (409).
 */
export function deleteHandler(store: UploadStore, config: Config) {
  return async function terminate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // Only a request Node's parser accepted whole may terminate anything, wherever the upload lives.
    await discardBody(request.raw, config.uploadIdleTimeoutMs);
    let next: Found | undefined = await store.find(request, 'DELETE');
    while (next) {
      const found = await reached(next, reply);
      if (!found) return reply;
      switch (found.at) {
        case 'here':
          await found.upload.terminate();
          next = undefined;
          break;
        case 'ended':
          throw refusalOf(found.end, 'DELETE')!;
        case 'unclaimed':
          // Undefined once its record says terminated; else where the upload turned out to be.
          next = await found.terminate();
          break;
      }
    }
    return reply.code(204).send();
  };
}
