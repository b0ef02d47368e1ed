import { randomUUID } from 'node:crypto';
import type { ServerOptions } from 'node:http';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';
import { Errors, toBridgeError } from './errors.js';
import type { UpstreamClient } from './grpc/upstream-client.js';
import { clientErrorHandler, parseErrorOf } from './http/client-error.js';
import { loggerOptions, markRequestLogged, OneLinePerRequest, requestLogged } from './observability/logger.js';
import { BridgeMetrics } from './observability/metrics.js';
import { UploadObserver } from './observability/upload-observer.js';
import { closeAfterReply } from './http/close-after-reply.js';
import { bridgeListener } from './http/listener.js';
import { serverTls } from './http/server-tls.js';
import { corsOptions, logRefusedOrigins } from './http/cors.js';
import { healthRoutes } from './routes/health.js';
import { countResponse, metricsRoutes } from './routes/metrics.js';
import { openapiRoutes } from './routes/openapi.js';
import { uploadPageRoutes } from './routes/upload-page.js';
import { uploadRoutes } from './routes/uploads.js';
import { UploadGate } from './upload/upload-gate.js';
import { LateAnswers } from './upload/late-answers.js';
import { UploadStreamer } from './upload/stream-upload.js';
import { ResumableUploads } from './resumable/resumable-uploads.js';
import { resumableUploadRoutes } from './routes/resumable-uploads.js';
import { replicaAddress } from './resumable/replica-address.js';
import type { SharedResumableUploads } from './resumable/shared-uploads.js';
import { identifyCaller } from './admission/authenticate.js';
import { importRoutes, type ImportOptions } from './routes/imports.js';
import type { ImportJobStore } from './imports/import-jobs.js';
import { openSharedState } from './shared-state/shared-state.js';
import type { IdempotencyStore } from './admission/idempotency-store.js';
import { UploadAdmissions } from './admission/upload-admission.js';
import type { BuildClient } from './builds/create-build.js';
import { ResumableBuilds } from './resumable/resumable-build.js';

/** An HTTP/2 connection without frames this long is closed (GOAWAY); like HTTP/1's keep-alive timeout, a little longer. */
const HTTP2_SESSION_IDLE_MS = 75_000;

/** Connecting to the replica that holds a resumable upload: past this, it is taken as gone (410). */
const OWNER_CONNECT_TIMEOUT_MS = 5000;

export interface AppDependencies {
  upstream: UpstreamClient;
  /** Fastify's logger option; tests pass false. */
  logger?: FastifyServerOptions['logger'];
  /** Import-from-URL overrides, e.g. a host resolver for tests. */
  imports?: Partial<ImportOptions>;
  /** Where Idempotency-Keys live; Redis with REDIS_URL, else one replica's memory, unless a store is given. */
  idempotencyStore?: IdempotencyStore;
  /** Where async imports are kept for polling; as above. */
  importJobs?: ImportJobStore;
  /** Node HTTP server options, e.g. a short headersTimeout in tests. */
  http?: ServerOptions;
  /** How long a new cleartext connection may send nothing before it is closed (default PREFACE_TIMEOUT_MS). */
  prefaceTimeoutMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    uploadGate: UploadGate;
    /** Half-closed calls whose answer came after their 504, still awaited. */
    lateAnswers: LateAnswers;
    /** The tus uploads this replica holds, when RESUMABLE_UPLOADS is on. */
    resumableUploads: ResumableUploads | undefined;
    /** GOAWAY on every HTTP/2 connection (shutdown): streams in flight finish, new ones go elsewhere. */
    http2GoAway: () => void;
  }
}

export async function buildApp(config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const metrics = new BridgeMetrics(deps.upstream);
  const listener = bridgeListener({
    http2: config.http2,
    tls: serverTls(config),
    maxConcurrentStreams: config.maxConcurrentUploads,
    sessionIdleMs: HTTP2_SESSION_IDLE_MS,
    prefaceTimeoutMs: deps.prefaceTimeoutMs,
    http: deps.http,
  });
  const app = Fastify({
    logger: deps.logger ?? loggerOptions(config),
    logController: new OneLinePerRequest(),
    // Behind a balancer, request.ip (and the logs) show the client only when the proxy is trusted.
    // (A hop count is supported at run time; Fastify's types omit it.)
    trustProxy: config.trustProxy as Exclude<typeof config.trustProxy, number>,
    // Names of up to 255 UTF-8 bytes, percent-encoded, must reach our own validation rather than a 414.
    routerOptions: { maxParamLength: 4096 },
    // A client's x-request-id is kept only if gRPC metadata and log lines can carry it as is.
    requestIdHeader: false,
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && /^[\x21-\x7e]{1,200}$/.test(id) ? id : randomUUID();
    },
    // A healthy multi-GB upload must never hit a server-wide request timeout; idle timeouts are ours.
    requestTimeout: 0,
    // No route declares a JSON schema, so Fastify's default compilers (Ajv, fast-json-stringify: a
    // few MiB of every process's memory) are never loaded; a schema added later fails loudly at start-up.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    // HTTP/1.1 and HTTP/2 on one port (see listener.ts); Fastify's `http2` option would serve HTTP/2 only.
    serverFactory: listener.serverFactory,
    clientErrorHandler: clientErrorHandler((error, err) => {
      metrics.malformedRequests.inc({ status: error.httpStatus });
      app.log.info({ code: error.code, status: error.httpStatus, parserCode: err.code }, `malformed request: ${error.message}`);
    }),
  });
  // A client that half-closes after its last byte still gets its answer (Node would abort the request at the FIN).
  (app.server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true;

  // Node answers `Expect: 100-continue` by itself unless 'checkContinue' is handled:
  // route it like any request, and the upload routes grant it once their early checks pass.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));

  // Node's parser may refuse a body in the same read as its headers, after handing Fastify the request
  // (and running its microtasks): once that read is done the refusal is known, and the request never acts.
  app.addHook('onRequest', (request, _reply, done) => {
    const h = request.headers;
    if (h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0')) return done();
    setImmediate(() => done(parseErrorOf(request.raw)));
  });

  // No route buffers a body: uploads read the raw stream themselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  // Before the CORS plugin, whose hook ends a preflight before later hooks run.
  const refusedOrigin = logRefusedOrigins(config.corsAllowedOrigins);
  app.addHook('onRequest', (request, _reply, done) => {
    refusedOrigin(request);
    done();
  });
  // Before any route, so its onRequest hook also answers preflights for them.
  if (config.corsAllowedOrigins.length > 0) await app.register(cors, corsOptions(config.corsAllowedOrigins));

  const gate = new UploadGate(config.maxConcurrentUploads);
  app.decorate('uploadGate', gate);
  app.decorate('http2GoAway', listener.goAway);
  const streamer = new UploadStreamer(deps.upstream, {
    chunkSizeBytes: config.chunkSizeBytes,
    maxContextBytes: config.maxContextBytes,
    idleTimeoutMs: config.uploadIdleTimeoutMs,
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    const traceparent = request.headers.traceparent;
    if (typeof traceparent === 'string') reply.header('traceparent', traceparent);
    done(null, payload);
  });

  app.setErrorHandler(async (err, request, reply) => {
    const error = toBridgeError(err);
    // A refusal's line is its request's line (an upload's refusal is already in its upload line); a 5xx also logs its error.
    if (error.httpStatus >= 500) request.log.error({ req: request, err, code: error.code }, error.message);
    else if (!requestLogged(request)) request.log.info({ req: request, code: error.code, status: error.httpStatus }, error.message);
    markRequestLogged(request);
    // A refusal sent before the body was read must not make Node read the rest of it.
    closeAfterReply(request.raw, reply.raw);
    return reply.code(error.httpStatus).headers(error.headers).type('application/json').send(error.toStatus());
  });

  app.setNotFoundHandler(async (request) => {
    throw Errors.notFound(request.method, request.url.split('?')[0]!);
  });

  const shared = await openSharedState(config, app.log);
  app.addHook('onClose', () => shared.close());

  app.addHook('onResponse', (request, reply, done) => {
    countResponse(metrics, request, reply);
    done();
  });
  await app.register(healthRoutes, { gate, upstream: deps.upstream, redis: shared.redis });
  await app.register(metricsRoutes, { metrics });
  await app.register(openapiRoutes);
  const lateAnswers = new LateAnswers(config.upstreamOutcomeWaitMs, config.maxConcurrentUploads);
  app.decorate('lateAnswers', lateAnswers);
  metrics.countLateAnswers(() => lateAnswers.size);
  // One pooled agent for every CreateBuild (undici, loaded only when builds are on).
  let builds: BuildClient | undefined;
  if (config.apiUrl) {
    const { BuildClient } = await import('./builds/create-build.js');
    const client = builds = new BuildClient(config.apiUrl, config.buildRequestTimeoutMs, (outcome, seconds) => {
      const label = outcome.replace('-', '_');
      metrics.builds.inc({ outcome: label });
      metrics.buildDuration.observe({ outcome: label }, seconds);
    });
    app.addHook('onClose', () => client.close());
  }
  const admissions = new UploadAdmissions(config, {
    builds,
    upstream: deps.upstream,
    lateAnswers,
    store: deps.idempotencyStore ?? shared.idempotency,
    onRecordFailed: () => metrics.idempotencyRecordFailures.inc(),
  });
  const observer = new UploadObserver(metrics);
  await app.register(uploadRoutes, { config, streamer, gate, admissions, observer });
  await app.register(importRoutes, { config, streamer, gate, observer, lateAnswers, builds, jobs: deps.importJobs ?? shared.imports, ...deps.imports });
  const resumable = config.resumableUploads
    ? new ResumableUploads(streamer, { expiryMs: config.resumableExpiryMs, maxLifetimeMs: config.resumableMaxLifetimeMs, maxUploads: config.maxResumableUploads, answerTtlMs: config.idempotencyTtlMs }, lateAnswers, () => metrics.resumableResumes.inc())
    : undefined;
  app.decorate('resumableUploads', resumable);
  if (resumable) {
    metrics.countResumableUploads(() => resumable.size);
    let sharedUploads: SharedResumableUploads | undefined;
    if (shared.resumableRecords) {
      // Loaded only with REDIS_URL: forwarding to another replica needs undici, a few MiB of every process's memory.
      const [{ OwnerForwarding }, { SharedResumableUploads }] = await Promise.all([
        import('./resumable/owner-forwarding.js'), import('./resumable/shared-uploads.js'),
      ]);
      const forwarding = new OwnerForwarding({
        connectMs: OWNER_CONNECT_TIMEOUT_MS,
        // The owner answers a final PATCH once the upstream and CreateBuild did; a PATCH it reads waits for its client at most the idle timeout.
        answerMs: config.upstreamResponseTimeoutMs + config.buildRequestTimeoutMs + config.uploadIdleTimeoutMs + OWNER_CONNECT_TIMEOUT_MS,
        // HEAD and DELETE wait only for the owner to end a PATCH still open.
        quickAnswerMs: 2 * OWNER_CONNECT_TIMEOUT_MS,
      });
      app.addHook('onClose', () => forwarding.close());
      // Random per process: a replica restarted at the same address is another owner.
      const instance = randomUUID();
      let address: string | undefined;
      const self = () => {
        // Known once the server listens (PORT=0 picks the port then).
        if (address === undefined && app.server.listening) address = replicaAddress(config.podIp, config.host, app.server.address());
        return { address: address ?? replicaAddress(config.podIp, config.host, app.server.address()), instance };
      };
      sharedUploads = new SharedResumableUploads({
        uploads: resumable,
        records: shared.resumableRecords,
        forwarding,
        gate,
        times: { expiryMs: config.resumableExpiryMs, maxLifetimeMs: config.resumableMaxLifetimeMs, answerTtlMs: config.idempotencyTtlMs, outcomeWaitMs: config.upstreamOutcomeWaitMs },
        self,
        scopeOf: (request) => identifyCaller(request.headers, config).scope,
        log: app.log,
      });
    }
    const resumableBuilds = new ResumableBuilds(builds, resumable, sharedUploads);
    await app.register(resumableUploadRoutes, { config, uploads: resumable, gate, observer, shared: sharedUploads, builds: resumableBuilds });
  }
  if (config.uploadPage) await app.register(uploadPageRoutes, { apiUrl: config.apiUrl ?? '', resumable: config.resumableUploads, builds: builds !== undefined });
  return app;
}

function noSchemas(): never {
  throw new Error('this app compiles no JSON schemas: routes validate their input themselves');
}
