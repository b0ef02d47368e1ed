import type { FastifyReply, FastifyRequest } from 'fastify';
import { heldState, recordState, tusHeaders } from '../tus-protocol.js';
import { reached, type UploadStore } from '../upload-store.js';
import { recordedContext } from './recorded-end.js';

/**
 * HEAD: where the upload stands (offset, length, expiry; once stored, the
 * context and its build step), from wherever it lives. A PATCH still open
 * on it is ended first, so the offset is the one the client resumes from.
 */
export function headHandler(store: UploadStore) {
  return async function head(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const found = await reached(await store.find(request, 'HEAD'), reply);
    if (!found) return reply;
    switch (found.at) {
      case 'here': {
        const upload = found.upload;
        await upload.lock();
        // Set before the check: its refusals (410, 423) are no more to be cached than the offset.
        reply.header('cache-control', 'no-store');
        if (upload.phase !== 'completed') upload.assertReceiving();
        return reply.code(200).headers(tusHeaders(heldState(upload), true)).send();
      }
      case 'ended':
        return reply.code(200).headers(tusHeaders(recordedContext(found, 'HEAD').state, true)).send();
      case 'unclaimed':
        return reply.code(200).headers(tusHeaders(recordState(found.record), true)).send();
    }
  };
}
