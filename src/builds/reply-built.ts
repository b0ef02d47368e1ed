import type { FastifyReply } from 'fastify';
import type { BuildOutcome } from './create-build.js';
import { builtAnswer, type StoredContext } from './hand-off.js';

/** A stored context, and how its build ended when one was asked for. */
export type HandedOff = StoredContext & { build?: BuildOutcome | undefined };

/**
 * The route's answer: the context alone, or the build's 200 (the API's JSON
 * verbatim, sent as is) or its 424, thrown. Called outside the upload's
 * observer, so an upload whose build did not start is still logged stored.
 */
export function replyHandedOff(reply: FastifyReply, { build, ...context }: HandedOff): StoredContext | string {
  if (!build) return { contextId: context.contextId, sizeBytes: context.sizeBytes };
  const answer = builtAnswer(context, build);
  reply.headers(answer.headers).type('application/json');
  return answer.body;
}
