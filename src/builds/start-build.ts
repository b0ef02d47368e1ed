import type { FastifyBaseLogger } from 'fastify';
import type { BuildRequest } from './build-request.js';
import type { BuildClient, BuildHeaders, BuildOutcome } from './create-build.js';

/** Where a build's outcome is logged: the request's (or upload's) logger, and what the message names the build. */
export interface BuildLog {
  log: FastifyBaseLogger;
  label: string;
}

/**
 * The one CreateBuild call for a stored context, logged once it ended. What
 * comes before (marking the build sent) and where the outcome is recorded
 * (idempotency key, import job, resumable record) stay with the caller.
 * Without `logTo` the caller records the outcome where replicas read it.
 */
export async function startBuild(client: BuildClient, build: BuildRequest, contextId: string, headers: BuildHeaders, logTo?: BuildLog): Promise<BuildOutcome> {
  const outcome = await client.create(build, contextId, headers);
  logTo?.log.info({
    contextId,
    build: outcome.kind,
    ...outcome.kind === 'started' ? { buildId: outcome.id } : {},
    ...outcome.kind === 'not-started' ? { apiStatus: outcome.apiStatus } : {},
  }, `${logTo.label} ${outcome.kind}`);
  return outcome;
}
