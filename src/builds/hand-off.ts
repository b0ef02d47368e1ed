import { Errors } from '../errors.js';
import type { BuildOutcome } from './create-build.js';

/** A stored context, as the upstream answered it. */
export interface StoredContext {
  contextId: string;
  sizeBytes: string;
}

/** The answer to an upload whose build started: the body (the API's answer verbatim under `build`) and its headers. */
export interface BuiltAnswer {
  body: string;
  headers: Record<string, string>;
}

/**
 * The one answer of an upload that asked for a build, whatever its form:
 * 200 `{"contextId","sizeBytes","build":<the API's JSON>}` with the
 * `Ignite-*` headers, or a BuildError (424) naming the stored context.
 */
export function builtAnswer(context: StoredContext, outcome: BuildOutcome): BuiltAnswer {
  switch (outcome.kind) {
    case 'not-started': throw Errors.buildNotStarted(context.contextId, outcome.apiStatus, outcome.message, outcome.details);
    case 'unknown': throw Errors.buildOutcomeUnknown(context.contextId, outcome.reason);
  }
  const headers: Record<string, string> = { 'ignite-context-id': context.contextId, 'ignite-size-bytes': context.sizeBytes };
  if (outcome.id !== undefined) headers['ignite-build-id'] = outcome.id;
  // The API's JSON goes out byte for byte: it is not parsed and re-encoded.
  const body = `{"contextId":${JSON.stringify(context.contextId)},"sizeBytes":${JSON.stringify(context.sizeBytes)},"build":${outcome.json}}`;
  return { body, headers };
}
