import { Errors } from '../errors.js';
/**
 * The one answer of an upload that asked for a build, whatever its form:
 * 200 `{"contextId","sizeBytes","build":<the API's JSON>}` with the
 * `Ignite-*` headers, or a BuildError (424) naming the stored context.
 */
export function builtAnswer(context, outcome) {
    switch (outcome.kind) {
        case 'not-started': throw Errors.buildNotStarted(context.contextId, outcome.apiStatus, outcome.message, outcome.details);
        case 'unknown': throw Errors.buildOutcomeUnknown(context.contextId, outcome.reason);
    }
    const headers = { 'ignite-context-id': context.contextId, 'ignite-size-bytes': context.sizeBytes };
    if (outcome.id !== undefined)
        headers['ignite-build-id'] = outcome.id;
    // The API's JSON goes out byte for byte: it is not parsed and re-encoded.
    const body = `{"contextId":${JSON.stringify(context.contextId)},"sizeBytes":${JSON.stringify(context.sizeBytes)},"build":${outcome.json}}`;
    return { body, headers };
}
//# sourceMappingURL=hand-off.js.map