import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { Errors, toBridgeError } from '../errors.js';
import { ArchiveProof, proofLimits } from '../imports/archive-proof.js';
import type { ImportJobStore } from '../imports/import-jobs.js';
import { parseImportRequest, type ImportRequest } from '../imports/import-request.js';
import { checkTarget, parseImportUrl, systemResolver, type CheckedTarget, type HostResolver, type TargetPolicy } from '../imports/resolve-target.js';
import type { UploadObserver } from '../observability/upload-observer.js';
import type { LateAnswers, LateOutcome } from '../upload/late-answers.js';
import type { UploadGate } from '../upload/upload-gate.js';
import { RequestSlot, writeContinue } from '../upload/request-slot.js';
import type { DigestAlgorithm, UploadOutcome, UploadStreamer } from '../upload/stream-upload.js';
import { identifyCaller } from '../admission/authenticate.js';
import { reprDigest, wantedDigests } from '../upload/digests.js';
import { forwardedHeaders } from '../http/forwarded-headers.js';
import { onParseError } from '../http/client-error.js';
import type { BuildClient, BuildOutcome } from '../builds/create-build.js';
import type { StoredContext } from '../builds/hand-off.js';
import { replyHandedOff } from '../builds/reply-built.js';
import { startBuild } from '../builds/start-build.js';
import type { ImportOutcome } from '../imports/import-jobs.js';

export interface ImportOptions {
  /** How host names are resolved before the address check (tests inject hostile resolvers). */
  resolveHost: HostResolver;
}

export interface ImportRoutesOptions extends Partial<ImportOptions> {
  config: Config;
  lateAnswers: LateAnswers;
  streamer: UploadStreamer;
  gate: UploadGate;
  observer: UploadObserver;
  /** Async imports' status: this replica's memory, or Redis for every replica. */
  jobs: ImportJobStore;
  /** CreateBuild, when IGNITE_API_URL is set. */
  builds?: BuildClient | undefined;
}

/** The JSON body is tiny: {url, name, headers}. */
const IMPORT_BODY_LIMIT = 64 * 1024;

/**
 * POST /v1/ignite/contexts:import downloads an archive and streams it
 * upstream through the same UploadStreamer as an upload (sniffing, limits,
 * digests, chunking, response); GET /v1/ignite/imports/{id} reports on one
 * started with `Prefer: respond-async`.
 */
export async function importRoutes(app: FastifyInstance, { config, streamer, gate, observer, lateAnswers, jobs, builds, resolveHost }: ImportRoutesOptions): Promise<void> {
  const policy: TargetPolicy = {
    allowHttp: config.importAllowHttp,
    allowPrivateAddresses: config.importAllowPrivateAddresses,
    allowedHosts: config.importAllowedHosts,
    resolveHost: resolveHost ?? systemResolver,
  };

  // Only this scope parses JSON (the app removed every parser); the raw bytes are kept for the signature.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, (_request, body, done) => done(null, body));

  // The JSON body is read by Fastify, outside any upload's idle timer: grant 100-continue once the
  // caller is known (401 before the body), and give a client that never finishes its body a 408.
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.method !== 'POST') return payload;
    identifyCaller(request.headers, config, signedTarget(request));
    writeContinue(request, reply);
    const timer = setTimeout(() => payload.emit('error', Errors.idleTimeout(config.uploadIdleTimeoutMs)), config.uploadIdleTimeoutMs);
    // Framing Node's parser refuses ends the body now, not at the idle timeout.
    // (On the next turn: an error known already must wait until Fastify listens to the payload.)
    const unroute = onParseError(request.raw, (error) => setImmediate(() => payload.emit('error', error)));
    const done = () => {
      clearTimeout(timer);
      unroute();
    };
    payload.once('end', done).once('close', done).once('error', done);
    return payload;
  });

  app.post('/v1/ignite/contexts::import', async (request, reply) => {
    const caller = identifyCaller(request.headers, config, signedTarget(request));
    const body = request.body;
    if (!Buffer.isBuffer(body)) throw Errors.invalidImport('The body must be JSON sent with `Content-Type: application/json`');
    if (caller.signature) {
      caller.signature.update(body);
      caller.signature.verify();
    }
    const spec = parseImportRequest(body);
    if (spec.build) {
      if (!builds) throw Errors.buildNotConfigured();
      // The JSON body is signed, build included; CreateBuild then needs the bridge's own credential.
      if (caller.signature && !config.serviceToken) throw Errors.signedBuildNeedsServiceToken();
    }
    // Refusals (400, 403) come before any answer, also for an asynchronous import.
    const first = await checkTarget(parseImportUrl(spec.url, policy), policy);
    const headers = forwardedHeaders(request, caller.upstreamAuthorization);
    const respondAsync = prefersAsync(request);
    const slot = new RequestSlot(gate, request, respondAsync ? undefined : reply, 'download');

    if (!respondAsync) {
      try {
        const outcome = await runImport(request, reply, spec, first, headers, slot, wantedDigests(request.headers));
        const digest = reprDigest(outcome.digests);
        if (digest) reply.header('repr-digest', digest);
        const context = { contextId: outcome.contextId, sizeBytes: outcome.sizeBytes };
        if (!spec.build) return context;
        // Stored: CreateBuild holds no upload slot, and a client that leaves now cancels nothing.
        slot.release();
        return replyHandedOff(reply, { ...context, build: await startBuild(builds!, spec.build, context.contextId, headers, { log: request.log, label: 'import: build' }) });
      } catch (err) {
        void lateAnswers.settle(err, (late, afterTimeout) => {
          if (afterTimeout) logLate(request, late);
        });
        throw err;
      } finally {
        slot.release();
      }
    }

    // Where Redis is shared and unreachable, the job cannot be started: 503 before anything is downloaded.
    const job = await jobs.create().catch((err: unknown) => {
      slot.release();
      throw err;
    });
    const halfClosing = () => jobs.halfClosing(job.importId);
    runImport(request, undefined, spec, first, headers, slot, [], halfClosing).then(
      async (outcome) => {
        const context = { contextId: outcome.contextId, sizeBytes: outcome.sizeBytes };
        if (!spec.build) return jobs.finish(job.importId, { result: context });
        slot.release();
        return jobs.finish(job.importId, buildStatus(context, await startBuild(builds!, spec.build, context.contextId, headers, { log: request.log, label: 'import: build' })));
      },
      (err: unknown) => {
        const error = toBridgeError(err);
        request.log.info({ importId: job.importId, code: error.code }, error.message);
        // A late answer: still running as far as the caller knows, the upstream may yet answer.
        return lateAnswers.settle(err, (late, afterTimeout) => {
          if (afterTimeout) logLate(request, late, job.importId);
          // Returned, so that close() at shutdown waits until the outcome is recorded.
          switch (late.kind) {
            case 'answered': return jobs.finish(job.importId, { result: late.response });
            case 'failed': return jobs.finish(job.importId, { error: late.error.toStatus() });
            case 'unknown': return jobs.finish(job.importId, { error: (afterTimeout ? Errors.outcomeNeverKnown() : error).toStatus(), unknown: true });
          }
        });
      },
    ).finally(() => slot.release());
    const statusUrl = `/v1/ignite/imports/${job.importId}`;
    return reply.code(202).header('location', statusUrl).header('preference-applied', 'respond-async')
      .send({ importId: job.importId, status: 'pending', statusUrl });
  });

  app.get('/v1/ignite/imports/:importId', async (request) => {
    const { importId } = request.params as { importId: string };
    const status = await jobs.get(importId);
    if (!status) throw Errors.importNotFound(importId);
    return status;
  });

  function logLate(request: FastifyRequest, late: LateOutcome, importId?: string): void {
    request.log.info({ importId, lateAnswer: late.kind }, `import: the upstream's late answer: ${late.kind}`);
  }

  /**
   * The download streamed through the same Upload as a request body, under
   * the slot's one signal: the caller leaving and IMPORT_TIMEOUT_MS cancel it
   * until the download is complete, never the commit. Observed from here to
   * its answer (with `reply`, logged once that went out).
   */
  async function runImport(request: FastifyRequest, reply: FastifyReply | undefined, spec: ImportRequest, first: CheckedTarget, headers: Record<string, string | undefined>,
    slot: RequestSlot, digests: readonly DigestAlgorithm[], beforeHalfClose?: () => Promise<void>): Promise<UploadOutcome> {
    const observation = observer.begin(request, 'import');
    const timer = setTimeout(() => slot.abort(Errors.importTimeout(config.importTimeoutMs)), config.importTimeoutMs);
    try {
      // Loaded with the first import: a bridge that only takes uploads never needs it.
      const { openDownload } = await import('../imports/download.js');
      const download = await openDownload(first, spec.headers, policy, slot.signal);
      // Without a length, a connection that closes early looks exactly like the end of the body.
      const proof = download.lengthKnown ? undefined : new ArchiveProof(download.url.host, proofLimits(config.maxContextBytes));
      const body = proof ? proof.paced(download.body) : download.body;
      slot.follow(body);
      let outcome: UploadOutcome;
      try {
        if (download.contentLength !== undefined && download.contentLength > config.maxContextBytes) {
          throw Errors.tooLarge(config.maxContextBytes);
        }
        outcome = await streamer.upload(body, {
          name: spec.name,
          expectedSizeBytes: download.contentLength ?? 0,
          headers,
          digests,
          controller: slot.controller,
          watch: observation.watch,
          taps: proof ? [(piece) => proof.update(piece)] : [],
          proveEnd: proof ? () => proof.finish() : undefined,
          checks: beforeHalfClose ? [beforeHalfClose] : [],
          sourceError: (err) => Errors.importSourceFailed(`the download from ${download.url.host} broke off (${(err as Error)?.message ?? err})`),
          idleError: () => Errors.importSourceFailed(`${download.url.host} sent no bytes for ${config.uploadIdleTimeoutMs} ms`),
        });
      } finally {
        proof?.close();
        if (body !== download.body) body.destroy();
        download.close();
      }
      observation.succeeded(outcome.contextId, reply);
      return outcome;
    } catch (err) {
      observation.failed(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What a v2 signature covers besides the body. */
const signedTarget = (request: FastifyRequest) => ({ method: request.method, url: request.raw.url ?? request.url });

/**
 * An async import's status once its build was asked for: `succeeded` with the
 * API's answer under `result.build`, or `failed` with the stored context in
 * `result` and the 424's body (BUILD_NOT_STARTED, BUILD_OUTCOME_UNKNOWN) in `error`.
 */
function buildStatus(context: StoredContext, build: BuildOutcome): ImportOutcome {
  if (build.kind === 'started') return { result: { ...context, build: JSON.parse(build.json) as unknown } };
  const error = build.kind === 'not-started'
    ? Errors.buildNotStarted(context.contextId, build.apiStatus, build.message, build.details)
    : Errors.buildOutcomeUnknown(context.contextId, build.reason);
  return { result: context, error: error.toStatus() };
}

/** RFC 7240 `Prefer: respond-async`, possibly among other preferences. */
function prefersAsync(request: FastifyRequest): boolean {
  const prefer = request.headers.prefer;
  const values = Array.isArray(prefer) ? prefer.join(',') : prefer ?? '';
  return values.split(/[,;]/).some((v) => v.trim().toLowerCase() === 'respond-async');
}
