import { builtAnswer } from './hand-off.js';
/**
 * The route's answer: the context alone, or the build's 200 (the API's JSON
 * verbatim, sent as is) or its 424, thrown. Called outside the upload's
 * observer, so an upload whose build did not start is still logged stored.
 */
export function replyHandedOff(reply, { build, ...context }) {
    if (!build)
        return { contextId: context.contextId, sizeBytes: context.sizeBytes };
    const answer = builtAnswer(context, build);
    reply.headers(answer.headers).type('application/json');
    return answer.body;
}
//# sourceMappingURL=reply-built.js.map