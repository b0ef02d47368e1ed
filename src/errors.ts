/**
 * One error vocabulary for the whole bridge. Every refusal is a BridgeError
 * of one family (the request is wrong, too large, the client went away,
 * admission refused it, the bridge is unavailable, the upstream failed, the
 * import source failed, the archive may be stored, the build failed after the
 * store, the upload's state refuses it, a bug). A family's table gives each
 * of its reasons (the stable `code`, the ErrorInfo's `reason`) its HTTP
 * status and the gRPC code of the google.rpc.Status body the dodil HTTP
 * gateway uses; `Errors.*` makes each one with a message that says what to do.
 */

export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export const grpcCodeName: Record<number, string> = Object.fromEntries(
  Object.entries(GrpcCode).map(([name, code]) => [code, name]),
);

/** grpc-gateway v2 runtime.HTTPStatusFromCode, the one place gRPC codes become HTTP statuses. */
export function httpStatusFromGrpcCode(code: number): number {
  switch (code) {
    case GrpcCode.OK: return 200;
    case GrpcCode.CANCELLED: return 408;
    case GrpcCode.UNKNOWN: return 500;
    case GrpcCode.INVALID_ARGUMENT: return 400;
    case GrpcCode.DEADLINE_EXCEEDED: return 504;
    case GrpcCode.NOT_FOUND: return 404;
    case GrpcCode.ALREADY_EXISTS: return 409;
    case GrpcCode.PERMISSION_DENIED: return 403;
    case GrpcCode.RESOURCE_EXHAUSTED: return 429;
    case GrpcCode.FAILED_PRECONDITION: return 400;
    case GrpcCode.ABORTED: return 409;
    case GrpcCode.OUT_OF_RANGE: return 400;
    case GrpcCode.UNIMPLEMENTED: return 501;
    case GrpcCode.INTERNAL: return 500;
    case GrpcCode.UNAVAILABLE: return 503;
    case GrpcCode.DATA_LOSS: return 500;
    case GrpcCode.UNAUTHENTICATED: return 401;
    default: return 500;
  }
}

/** The ErrorInfo domain of every error the bridge itself makes. */
export const ERROR_DOMAIN = 'ignite-upload-bridge';

/** google.rpc.ErrorInfo in its JSON mapping: the stable reason a client branches on. */
export interface ErrorInfo {
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo';
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

export interface StatusBody {
  code: number;
  message: string;
  details: unknown[];
}

/** The HTTP status and gRPC code a reason is answered with. */
export interface Wire {
  status: number;
  grpc: number;
  /** Other statuses the reason can carry: a refusal of the web framework keeps the framework's status. */
  alsoStatuses?: readonly number[];
}

const wire = (status: number, grpc: number, alsoStatuses?: readonly number[]): Wire => ({ status, grpc, ...alsoStatuses ? { alsoStatuses } : {} });
const BAD = wire(400, GrpcCode.INVALID_ARGUMENT);
const UNSUPPORTED = wire(415, GrpcCode.INVALID_ARGUMENT);
const TOO_LARGE = wire(413, GrpcCode.INVALID_ARGUMENT);
const NO_BYTES = wire(408, GrpcCode.DEADLINE_EXCEEDED);
const BUSY = wire(409, GrpcCode.ABORTED);
const UNAVAILABLE = wire(503, GrpcCode.UNAVAILABLE);
const NOT_ANSWERED = wire(504, GrpcCode.DEADLINE_EXCEEDED);
const NOT_FOUND = wire(404, GrpcCode.NOT_FOUND);
const GONE = wire(410, GrpcCode.NOT_FOUND);
const LOCKED = wire(423, GrpcCode.ABORTED);

/** What a few reasons carry beyond their message. */
export interface ErrorExtras {
  /** Extra response headers, e.g. Retry-After. */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
  /** Details that follow the ErrorInfo in the body, e.g. another API's own. */
  details?: readonly unknown[];
  /** A framework's refusal keeps the framework's status (see `Wire.alsoStatuses`). */
  status?: number;
}

/**
 * The base of every error the bridge answers with: `code` is the stable
 * reason (the ErrorInfo's), `httpStatus` and `grpcCode` come from the
 * family's table. Branch on the family class (`instanceof`), never on the
 * code's spelling.
 */
export class BridgeError extends Error {
  override name = this.constructor.name;

  constructor(
    /** Stable machine-readable reason, e.g. `NOT_AN_ARCHIVE`. */
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    readonly grpcCode: number,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Facts a client acts on, as strings, beyond the ones the headers already give (see `errorInfo`). */
  readonly metadata: Record<string, string> = {};

  /** Details that follow the ErrorInfo in the body. */
  protected moreDetails: readonly unknown[] = [];

  /** Adds facts to the ErrorInfo's metadata, e.g. the contextId of a stored context. */
  withMetadata(facts: Record<string, string>): this {
    Object.assign(this.metadata, facts);
    return this;
  }

  /** The one ErrorInfo every answer carries: `reason` is the catalogue code. */
  errorInfo(): ErrorInfo {
    const metadata: Record<string, string> = {};
    // A header the client must act on is repeated where a client reading only the body finds it.
    if (this.headers['retry-after'] !== undefined) metadata['retryAfterSeconds'] = this.headers['retry-after'];
    if (this.headers['upload-offset'] !== undefined) metadata['uploadOffset'] = this.headers['upload-offset'];
    Object.assign(metadata, this.metadata);
    return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: this.code, domain: ERROR_DOMAIN, metadata };
  }

  /** The google.rpc.Status body: the ErrorInfo first, then any details the error brings. */
  toStatus(): StatusBody {
    return { code: this.grpcCode, message: this.message, details: [this.errorInfo(), ...this.moreDetails] };
  }
}

/** The base class of one family: its reasons, typed, each answered with the status and gRPC code its table gives. */
function family<Reason extends string>(reasons: Readonly<Record<Reason, Wire>>) {
  return class extends BridgeError {
    static readonly reasons = reasons;
    declare readonly code: Reason;

    constructor(reason: Reason, message: string, extras: ErrorExtras = {}) {
      const { status, grpc } = reasons[reason];
      // A cause only where the factory names one, as Error itself would have it.
      super(reason, message, extras.status ?? status, grpc, extras.headers, 'cause' in extras ? { cause: extras.cause } : undefined);
      if (extras.details) this.moreDetails = extras.details;
    }
  };
}

/** The request is wrong (its headers, name, body or archive): fix it and send it again. */
export class RequestError extends family({
  EMPTY_BODY: BAD, NOT_AN_ARCHIVE: UNSUPPORTED, ARCHIVE_CORRUPT: BAD, NOT_A_TAR: BAD, EMPTY_ARCHIVE: BAD,
  UNSUPPORTED_CONTENT_ENCODING: UNSUPPORTED, MISSING_NAME: BAD, INVALID_NAME: BAD, MALFORMED_REQUEST: BAD,
  MALFORMED_MULTIPART: BAD, MISSING_FILE_PART: BAD, UNEXPECTED_PART: BAD, SIZE_MISMATCH: BAD, DIGEST_MISMATCH: BAD,
  INVALID_DIGEST_HEADER: BAD, MALFORMED_HTTP: BAD, INVALID_IDEMPOTENCY_KEY: BAD, INVALID_IMPORT: BAD,
  INVALID_TUS_HEADER: BAD, SIGNED_NOT_RESUMABLE: BAD, PATCH_CONTENT_TYPE: UNSUPPORTED, BUILD_NOT_CONFIGURED: BAD,
  BUILD_NOT_SIGNED: BAD, SIGNED_BUILD_NEEDS_SERVICE_TOKEN: BAD, INVALID_BUILD: BAD,
  TUS_VERSION_UNSUPPORTED: wire(412, GrpcCode.FAILED_PRECONDITION), NOT_FOUND,
  // Fastify's own refusals (a bad URL, an import's JSON body over its limit).
  BAD_REQUEST: wire(400, GrpcCode.INVALID_ARGUMENT, [413]),
}) {}

/** The archive (or the headers) is over a limit: send less. */
export class TooLargeError extends family({
  CONTEXT_TOO_LARGE: TOO_LARGE, PAST_UPLOAD_LENGTH: TOO_LARGE, HEADERS_TOO_LARGE: wire(431, GrpcCode.INVALID_ARGUMENT),
}) {}

/** The client went away, or sent nothing for too long: nothing of that request was stored. */
export class ClientGoneError extends family({
  CLIENT_ABORTED: wire(408, GrpcCode.CANCELLED), UPLOAD_IDLE_TIMEOUT: NO_BYTES, HEADERS_TIMEOUT: NO_BYTES, PATCH_IDLE_TIMEOUT: NO_BYTES,
}) {}

/** Admission refused the request: its credential, its Idempotency-Key or the address it names. */
export class RefusedError extends family({
  UNAUTHENTICATED: wire(401, GrpcCode.UNAUTHENTICATED), IMPORT_REFUSED: wire(403, GrpcCode.PERMISSION_DENIED),
  IDEMPOTENCY_KEY_IN_FLIGHT: BUSY, IDEMPOTENCY_KEY_AWAITING_OUTCOME: BUSY, IDEMPOTENCY_KEY_REUSED: wire(422, GrpcCode.FAILED_PRECONDITION),
}) {}

/** The bridge (or what it shares with its replicas) cannot take this now; nothing was stored: retry later. */
export class UnavailableError extends family({
  OVER_CAPACITY: UNAVAILABLE, SHUTTING_DOWN: UNAVAILABLE, SHUTDOWN_CANCELLED: UNAVAILABLE, SHARED_STATE_UNAVAILABLE: UNAVAILABLE,
  IDEMPOTENCY_CLAIM_LOST: UNAVAILABLE, RESUMABLE_UPLOADS_FULL: UNAVAILABLE, UPLOAD_OWNER_UNREACHABLE: UNAVAILABLE,
  IMPORT_REPLICA_LOST: UNAVAILABLE, IMPORT_LEASE_LOST: UNAVAILABLE,
}) {}
export type UnavailableReason = UnavailableError['code'];

/** The upstream's own status codes, each relayed as `UPSTREAM_<name>`. */
export type UpstreamCodeName = Exclude<keyof typeof GrpcCode, 'OK'>;
const RELAYED_REASONS = Object.fromEntries(Object.entries(GrpcCode).filter(([name]) => name !== 'OK')
  .map(([name, code]) => [`UPSTREAM_${name}`, wire(httpStatusFromGrpcCode(code), code)])) as Record<`UPSTREAM_${UpstreamCodeName}`, Wire>;

/**
 * The upstream BuildService failed the upload before its commit: nothing was
 * stored. `upstreamCode` is set when the upstream's own status is relayed
 * (`UPSTREAM_<its name>`, mapped to HTTP as grpc-gateway maps it); without
 * it the bridge judged the upstream itself (too slow, answered too early, a
 * size that disagrees).
 */
export class UpstreamError extends family({
  ...RELAYED_REASONS,
  UPSTREAM_TIMEOUT: NOT_ANSWERED, UPSTREAM_SIZE_MISMATCH: wire(502, GrpcCode.DATA_LOSS), UPSTREAM_ANSWERED_EARLY: wire(502, GrpcCode.DATA_LOSS),
}) {
  constructor(reason: UpstreamError['code'], message: string, readonly upstreamCode?: number) {
    super(reason, message);
  }
}

/** The server an import downloads from failed, or sent an archive that does not prove itself whole: nothing was stored. */
export class ImportSourceError extends family({
  IMPORT_SOURCE_FAILED: wire(502, GrpcCode.UNAVAILABLE), IMPORT_INCOMPLETE: wire(502, GrpcCode.UNAVAILABLE),
  IMPORT_INFLATE_LIMIT: wire(502, GrpcCode.UNAVAILABLE), IMPORT_TIMEOUT: NOT_ANSWERED,
}) {}

/**
 * The whole archive was sent and the call half-closed, and whether the
 * upstream stored it is not known: never "nothing was stored", so the client
 * must not upload again blindly. Two of them come from this request's own
 * call: OutcomeUnknownError (no answer yet, the call still open) and
 * OutcomeLostError (the connection broke before the answer).
 */
export class MaybeStoredError extends family({
  UPSTREAM_OUTCOME_UNKNOWN: NOT_ANSWERED, UPSTREAM_OUTCOME_LOST: NOT_ANSWERED, OUTCOME_UNKNOWN: NOT_ANSWERED,
  IDEMPOTENCY_OUTCOME_UNKNOWN: NOT_ANSWERED, IMPORT_OUTCOME_UNKNOWN: NOT_ANSWERED, UPLOAD_OUTCOME_PENDING: NOT_ANSWERED,
}) {}

/**
 * The whole archive was sent and half-closed, and the upstream has not
 * answered within UPSTREAM_RESPONSE_TIMEOUT_MS. The call is still open:
 * `answer` settles if the upstream answers later, `abandon` resets it.
 */
export class OutcomeUnknownError extends MaybeStoredError {
  constructor(
    readonly timeoutMs: number,
    /** Archive bytes sent before the half-close, to check the late answer's size against. */
    readonly sentBytes: number,
    readonly answer: Promise<{ contextId: string; sizeBytes: string }>,
    readonly abandon: () => void,
  ) {
    super('UPSTREAM_OUTCOME_UNKNOWN', `The whole archive was sent, but the upstream BuildService has not answered within ${timeoutMs} ms (UPSTREAM_RESPONSE_TIMEOUT_MS): the outcome is not known yet, the context may or may not be stored. With an Idempotency-Key, retry with the same key to get the answer once it arrives (409 until then; it is never uploaded twice). Without one, do not assume it failed; send an Idempotency-Key next time so a retry learns the outcome instead of uploading again.`);
  }
}

/** The call was half-closed, then the connection or stream failed: the upstream may or may not have committed, and no answer will come. */
export class OutcomeLostError extends MaybeStoredError {
  constructor(message: string) {
    super('UPSTREAM_OUTCOME_LOST', message);
  }
}

/**
 * The context is stored but the build did not start (or may not have): 424,
 * never 5xx, which clients retry by themselves (uploading again). Always
 * names the stored context in `Ignite-Context-Id`; the API's own details
 * follow the ErrorInfo.
 */
export class BuildError extends family({
  BUILD_NOT_STARTED: wire(424, GrpcCode.FAILED_PRECONDITION), BUILD_OUTCOME_UNKNOWN: wire(424, GrpcCode.FAILED_PRECONDITION),
}) {
  constructor(reason: BuildError['code'], message: string, readonly contextId: string, apiDetails: unknown[]) {
    super(reason, message, { headers: { 'ignite-context-id': contextId }, details: apiDetails });
  }
}

/**
 * The resumable upload (or import) the request names is missing, gone, or in
 * a state that refuses this request; the message says what to ask next.
 */
export class UploadStateError extends family({
  UPLOAD_NOT_FOUND: NOT_FOUND, IMPORT_NOT_FOUND: NOT_FOUND, UPLOAD_GONE: GONE, UPLOAD_EXPIRED: GONE,
  UPLOAD_OFFSET_MISMATCH: wire(409, GrpcCode.FAILED_PRECONDITION), UPLOAD_ALREADY_SENT: wire(409, GrpcCode.FAILED_PRECONDITION),
  PATCH_SUPERSEDED: BUSY, UPLOAD_COMMITTING: LOCKED, UPLOAD_OUTCOME_PENDING: LOCKED, UPLOAD_OUTCOME_UNKNOWN: LOCKED,
}) {}

/** A bug in the bridge: anything thrown that is not one of the families above. */
export class InternalError extends family({ INTERNAL: wire(500, GrpcCode.INTERNAL) }) {
  constructor(cause: unknown) {
    super('INTERNAL', 'Internal error in the bridge; it was logged. Retry, and report it if it persists.', { cause });
  }
}

/** Every family, each with its table of reasons: the one list openapi.yaml and docs/errors.md are checked against. */
export const errorFamilies = [
  RequestError, TooLargeError, ClientGoneError, RefusedError, UnavailableError, UpstreamError, ImportSourceError,
  MaybeStoredError, BuildError, UploadStateError, InternalError,
] as const;

/** Retry-After (seconds) sent with capacity and drain refusals. */
const RETRY_AFTER_SECONDS = '5';
const retryAfter = { headers: { 'retry-after': RETRY_AFTER_SECONDS } };

/** The catalogue: every refusal the bridge itself makes. */
export const Errors = {
  emptyBody: () =>
    new RequestError('EMPTY_BODY', 'The request body is empty: send the archive bytes, e.g. `curl -T ctx.tar.gz …/v1/ignite/contexts/` or `curl -F file=@ctx.tar.gz …/v1/ignite/contexts`.'),

  notAnArchive: (firstBytesHex: string) =>
    new RequestError('NOT_AN_ARCHIVE', `The body is not a gzip or zip archive (it starts with ${firstBytesHex || 'nothing'}); whatever Content-Type is declared, the bytes decide. Pack the build context with \`tar -cz -f ctx.tar.gz .\` (or zip) and upload that file.`),

  archiveCorrupt: (detail: string) =>
    new RequestError('ARCHIVE_CORRUPT', `The archive is corrupt: ${detail}; nothing was stored. If it was sent with \`curl -d @file\` (which strips CR and LF bytes), send it with \`curl --data-binary @file\` or \`curl -T file\` instead; otherwise pack the build context again, e.g. \`tar -cz -f ctx.tar.gz .\`.`),

  notATar: (detail: string) =>
    new RequestError('NOT_A_TAR', `The gzip archive does not hold a tar: ${detail}; nothing was stored. A build context is a tar.gz (or zip) of the folder: pack it with \`tar -cz -f ctx.tar.gz .\`.`),

  emptyArchive: (detail: string) =>
    new RequestError('EMPTY_ARCHIVE', `${detail}; nothing was stored. Pack the folder that holds the Dockerfile, e.g. \`tar -cz -f ctx.tar.gz -C <folder> .\`.`),

  unsupportedContentEncoding: (encoding: string) =>
    new RequestError('UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding "${encoding}" is not accepted: send the archive as is (identity). A tar.gz is already compressed; drop the Content-Encoding header.`),

  missingName: (fix: string) =>
    new RequestError('MISSING_NAME', `No context name was given and the bridge never invents one: ${fix}`),

  invalidName: (reason: string) =>
    new RequestError('INVALID_NAME', `Invalid context name: ${reason}. Use 1 to 255 bytes of UTF-8 without control characters.`),

  malformedRequest: (detail: string) =>
    new RequestError('MALFORMED_REQUEST', detail),

  malformedMultipart: (detail: string) =>
    new RequestError('MALFORMED_MULTIPART', `Malformed multipart/form-data body: ${detail}. Send one file part named "file", e.g. \`curl -F file=@ctx.tar.gz …\`.`),

  missingFilePart: () =>
    new RequestError('MISSING_FILE_PART', 'The multipart body has no file part named "file": send it as `curl -F file=@ctx.tar.gz …/v1/ignite/contexts`.'),

  unexpectedPart: (detail: string) =>
    new RequestError('UNEXPECTED_PART', `${detail}. Send the optional fields (name, expectedSizeBytes, sha256, build, tags) first, then exactly one file part named "file", and nothing after it.`),

  tooLarge: (maxBytes: number) =>
    new TooLargeError('CONTEXT_TOO_LARGE', `The archive is larger than the limit of ${maxBytes} bytes (MAX_CONTEXT_BYTES): make the build context smaller, e.g. with a .dockerignore, or ask the operator to raise the limit.`),

  sizeMismatch: (expected: number, received: number) =>
    new RequestError('SIZE_MISMATCH', `Received ${received} archive bytes but ${expected} were announced (Content-Length or expectedSizeBytes): the upload was cut short or the size is wrong; nothing was stored, upload again.`),

  digestMismatch: (algorithm: string, expected: string, actual: string) =>
    new RequestError('DIGEST_MISMATCH', `The ${algorithm} digest of the received bytes is ${actual} but the request declared ${expected}: the archive was altered or cut in transit; nothing was stored, upload it again.`),

  invalidDigestHeader: (detail: string) =>
    new RequestError('INVALID_DIGEST_HEADER', `${detail}. Nothing was read or stored; fix the header or drop it.`),

  idleTimeout: (ms: number) =>
    new ClientGoneError('UPLOAD_IDLE_TIMEOUT', `No body bytes arrived for ${ms} ms (UPLOAD_IDLE_TIMEOUT_MS); the upload was cancelled and nothing was stored. Check the client's connection and upload again.`),

  upstreamTimeout: (ms: number) =>
    new UpstreamError('UPSTREAM_TIMEOUT', `The upstream BuildService stopped reading the archive for ${ms} ms (UPSTREAM_RESPONSE_TIMEOUT_MS); the upload was cancelled and nothing was stored. Retry later.`),

  upstreamSizeMismatch: (sent: number, reported: string) =>
    new UpstreamError('UPSTREAM_SIZE_MISMATCH', `The upstream reported ${reported} bytes but the bridge sent ${sent}: the stored context cannot be trusted; upload again.`),

  upstreamAnsweredEarly: () =>
    new UpstreamError('UPSTREAM_ANSWERED_EARLY', 'The upstream BuildService answered before the whole archive was sent, so its answer cannot describe this upload; it was cancelled. Upload again.'),

  overCapacity: (max: number) =>
    new UnavailableError('OVER_CAPACITY', `The bridge is already handling ${max} uploads (MAX_CONCURRENT_UPLOADS); retry after ${RETRY_AFTER_SECONDS} seconds.`, retryAfter),

  shuttingDown: () =>
    new UnavailableError('SHUTTING_DOWN', `The bridge is shutting down and accepts no new uploads; retry in ${RETRY_AFTER_SECONDS} seconds (another replica will take it).`, retryAfter),

  shutdownCancelled: () =>
    new UnavailableError('SHUTDOWN_CANCELLED', `The bridge shut down before this upload finished; nothing was stored. Upload again in ${RETRY_AFTER_SECONDS} seconds.`, retryAfter),

  malformedHttp: (detail: string) =>
    new RequestError('MALFORMED_HTTP', `The request is not valid HTTP/1.1 (${detail}); nothing was stored. Send a well-formed request: a Content-Length or Transfer-Encoding: chunked (not both), with correct chunk framing.`),

  headersTooLarge: () =>
    new TooLargeError('HEADERS_TOO_LARGE', 'The request headers are too large (over 16 KiB in all); nothing was read or stored. Send fewer or shorter headers.'),

  headersTimeout: () =>
    new ClientGoneError('HEADERS_TIMEOUT', 'The request headers did not arrive in time; nothing was read or stored. Check the client\'s connection and send the request again.'),

  clientAborted: () =>
    new ClientGoneError('CLIENT_ABORTED', 'The client closed the connection before the upload finished; the upstream call was cancelled and nothing was stored.'),

  notFound: (method: string, url: string) =>
    new RequestError('NOT_FOUND', `No route for ${method} ${url}. Uploads go to POST /v1/ignite/contexts or PUT /v1/ignite/contexts/<name>; see GET /openapi.yaml.`),

  // Webhooks, idempotency, imports:
  unauthenticated: (detail: string) =>
    new RefusedError('UNAUTHENTICATED', `${detail}. Send \`Authorization: Bearer <token>\`, or sign the request: \`X-Signature-Timestamp: <unix seconds>\` and \`X-Signature-256: sha256=<hex HMAC-SHA256 of timestamp + "." + raw body, keyed with WEBHOOK_SECRET>\` (or \`v2=\`, which also signs the method and path?query; see docs/webhooks.md, "Signed uploads"); nothing was stored.`),

  invalidIdempotencyKey: (detail: string) =>
    new RequestError('INVALID_IDEMPOTENCY_KEY', `The Idempotency-Key header ${detail}: send one key of 1 to 255 printable ASCII characters, e.g. \`Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"\`.`),

  idempotencyKeyInFlight: () =>
    new RefusedError('IDEMPOTENCY_KEY_IN_FLIGHT', 'An upload with this Idempotency-Key is still in progress: wait for it to finish, then retry with the same key to get its result.'),

  idempotencyKeyAwaitingOutcome: () =>
    new RefusedError('IDEMPOTENCY_KEY_AWAITING_OUTCOME', `The upload with this Idempotency-Key was sent completely and the bridge is still waiting for the upstream's answer: retry with the same key in ${RETRY_AFTER_SECONDS} seconds to get it. Do not upload it under a new key, or it may be stored twice.`, retryAfter),

  idempotencyOutcomeUnknown: () =>
    new MaybeStoredError('IDEMPOTENCY_OUTCOME_UNKNOWN', 'The upload with this Idempotency-Key was sent completely, but its answer never reached the bridge (the upstream BuildService did not answer within UPSTREAM_OUTCOME_WAIT_MS, or the bridge replica waiting for it stopped): whether the context was stored is unknown, and it will not be uploaded again under this key. Check with the BuildService, or upload with a new key if it is missing.'),

  /** The call was half-closed, then the connection or stream failed: the upstream may or may not have committed. */
  upstreamOutcomeLost: (status: string, details: string) =>
    new OutcomeLostError(`The whole archive was sent, but the connection to the upstream BuildService failed before its answer (${status}: ${details || 'no details'}): whether the context was stored is unknown. With an Idempotency-Key, a retry with the same key answers 504 and is never uploaded twice; otherwise check with the BuildService before uploading again.`),

  outcomeNeverKnown: () =>
    new MaybeStoredError('OUTCOME_UNKNOWN', 'The whole archive was sent, but the upstream BuildService never answered (UPSTREAM_OUTCOME_WAIT_MS): whether the context was stored is unknown. Check with the BuildService before uploading it again.'),

  idempotencyKeyReused: () =>
    new RefusedError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different upload (name, size or sha-256 differ); nothing was stored. Use a new key for a new upload.'),

  /** The claim lapsed (or Redis did not take the "sent" mark) before the half-close: the call was cancelled instead. */
  idempotencyClaimLost: (cause?: unknown) =>
    new UnavailableError('IDEMPOTENCY_CLAIM_LOST', `This upload's Idempotency-Key could not be marked as sent in the shared store (Redis, REDIS_URL): its claim lapsed while the body arrived, or Redis did not answer in time. So the upload was cancelled before the commit: nothing was stored. Retry in ${RETRY_AFTER_SECONDS} seconds with the same key.`, { ...retryAfter, cause }),

  invalidImport: (detail: string) =>
    new RequestError('INVALID_IMPORT', `${detail}. Send JSON like {"url": "https://host/ctx.tar.gz", "name": "ctx.tar.gz", "headers": {"authorization": "Bearer …"}}.`),

  importRefused: (detail: string) =>
    new RefusedError('IMPORT_REFUSED', `${detail}; the bridge did not connect to it. Import from a public https host(or ask the operator about IMPORT_ALLOWED_HOSTS / IMPORT_ALLOW_PRIVATE_ADDRESSES).`),

  importSourceFailed: (detail: string) =>
    new ImportSourceError('IMPORT_SOURCE_FAILED', `The import source failed: ${detail}. Nothing was stored; check the URL and its credentials, then retry.`),

  importIncomplete: (host: string, detail: string) =>
    new ImportSourceError('IMPORT_INCOMPLETE', `${host} sent the archive with no Content-Length and no chunked framing, so only the archive's own structure can show that it arrived whole, and it does not: ${detail}. The download was most likely cut short (or the file is damaged); nothing was stored. Retry, or serve it with a Content-Length.`),

  importInflateLimit: (host: string, detail: string) =>
    new ImportSourceError('IMPORT_INFLATE_LIMIT', `${host} sent the archive with no Content-Length and no chunked framing, so the bridge inflates the gzip to prove that it arrived whole, and it inflates to more than ${detail}: refused as a possible compression bomb; nothing was stored. Serve it with a Content-Length (an archive with a length is not inflated).`),

  importTimeout: (ms: number) =>
    new ImportSourceError('IMPORT_TIMEOUT', `The download did not finish within ${ms} ms (IMPORT_TIMEOUT_MS); it was cancelled and nothing was stored. Retry, or ask the operator to raise the limit.`),

  importNotFound: (id: string) =>
    new UploadStateError('IMPORT_NOT_FOUND', `No import ${JSON.stringify(id)} is known to this bridge: it never existed, was forgotten (imports are kept for a day), or was started on another replica that shares no REDIS_URL with this one.`),

  importReplicaLost: () =>
    new UnavailableError('IMPORT_REPLICA_LOST', 'The bridge replica running this import stopped (its heartbeat in Redis expired) before the archive was sent completely; nothing was stored. Start the import again.'),

  importOutcomeLost: () =>
    new MaybeStoredError('IMPORT_OUTCOME_UNKNOWN', 'The bridge replica running this import stopped (its heartbeat in Redis expired) after the whole archive was sent: whether the context was stored is unknown. Check with the BuildService before importing it again.'),

  importLeaseLost: () =>
    new UnavailableError('IMPORT_LEASE_LOST', 'This replica could not renew the import\'s heartbeat in Redis in time, so other replicas already report the import as failed; it was cancelled before the upload was committed and nothing was stored. Start the import again.'),

  // Many replicas:
  sharedStateUnavailable: (cause?: unknown) =>
    new UnavailableError('SHARED_STATE_UNAVAILABLE', `The shared store (Redis, REDIS_URL) that bridge replicas use for Idempotency-Keys, import status and resumable uploads is unreachable, so this request was refused before anything was uploaded. Retry in ${RETRY_AFTER_SECONDS} seconds; uploads without an Idempotency-Key still work meanwhile.`, { ...retryAfter, cause }),

  // Resumable uploads (tus):
  tusVersionUnsupported: (sent: string | undefined) =>
    new RequestError('TUS_VERSION_UNSUPPORTED', `${sent === undefined ? 'The Tus-Resumable header is missing' : `Tus-Resumable ${JSON.stringify(sent)} is not supported`}: this server speaks tus 1.0.0 (send \`Tus-Resumable: 1.0.0\`, as tus-js-client and Uppy do).`, { headers: { 'tus-version': '1.0.0' } }),

  invalidTusHeader: (detail: string) =>
    new RequestError('INVALID_TUS_HEADER', `${detail}; nothing was read or stored.`),

  signedNotResumable: () =>
    new RequestError('SIGNED_NOT_RESUMABLE', 'HMAC-signed uploads are single-request: send the signed body to POST /v1/ignite/contexts (or PUT /v1/ignite/contexts/<name>), or use `Authorization` for a resumable upload.'),

  resumableCapacity: (max: number, scope: 'replica' | 'credential' | 'address') =>
    new UnavailableError('RESUMABLE_UPLOADS_FULL', `${scope === 'replica' ? `This bridge already holds ${max} resumable uploads (MAX_RESUMABLE_UPLOADS)` : `This ${scope === 'credential' ? 'credential' : 'client address'} already holds ${max} resumable uploads (a quarter of MAX_RESUMABLE_UPLOADS)`}: finish or DELETE one, or retry after ${RETRY_AFTER_SECONDS} seconds.`, retryAfter),

  uploadNotFound: () =>
    new UploadStateError('UPLOAD_NOT_FOUND', 'No such resumable upload (or it belongs to another credential): create one with POST /v1/ignite/uploads.'),

  uploadGone: (detail: string) =>
    new UploadStateError('UPLOAD_GONE', `${detail.replace(/\.$/, '')}. Start a new upload with POST /v1/ignite/uploads.`),

  offsetMismatch: (current: number, sent: string | undefined) =>
    new UploadStateError('UPLOAD_OFFSET_MISMATCH', `${sent === undefined ? 'The PATCH has no Upload-Offset header' : `Upload-Offset is ${sent}`}, but the upload holds ${current} bytes: send HEAD to learn the offset and PATCH from there.`, { headers: { 'upload-offset': String(current) } }),

  patchContentType: (sent: string | undefined) =>
    new RequestError('PATCH_CONTENT_TYPE', `A PATCH must carry \`Content-Type: application/offset+octet-stream\`${sent ? `, not ${JSON.stringify(sent)}` : ''}; the upload is unchanged, send the bytes again with that type.`),

  pastUploadLength: (length: number) =>
    new TooLargeError('PAST_UPLOAD_LENGTH', `The PATCH carries bytes past the declared Upload-Length of ${length}: the upload was ended and nothing was stored. Create a new upload with the right length.`),

  commitInProgress: () =>
    new UploadStateError('UPLOAD_COMMITTING', `Every byte of the upload arrived and the upstream is committing it: ask again (HEAD) in ${RETRY_AFTER_SECONDS} seconds for the contextId.`, retryAfter),

  deleteAfterHalfClose: () =>
    new UploadStateError('UPLOAD_ALREADY_SENT', 'Every byte of the upload was sent and the upstream has it (committed or committing): it can no longer be terminated. HEAD tells its outcome.'),

  uploadExpired: (reason: string) =>
    new UploadStateError('UPLOAD_EXPIRED', `The resumable upload expired (${reason}); its upstream call was cancelled and nothing was stored`),

  patchIdle: (ms: number, offset: number) =>
    new ClientGoneError('PATCH_IDLE_TIMEOUT', `No bytes arrived for ${ms} ms (UPLOAD_IDLE_TIMEOUT_MS), so this PATCH was ended; the upload is paused at offset ${offset}, nothing was lost. Resume with HEAD and a PATCH from that offset.`),

  uploadOwnerGone: (detail: string) =>
    new UploadStateError('UPLOAD_GONE', `The bridge replica that held this resumable upload's upstream call ${detail}, so the call is gone and nothing of it was stored. Start a new upload with POST /v1/ignite/uploads.`),

  uploadOwnerUnreachable: (cause?: unknown) =>
    new UnavailableError('UPLOAD_OWNER_UNREACHABLE', `The bridge replica holding this resumable upload did not answer this request completely; the upload may still be there: retry in ${RETRY_AFTER_SECONDS} seconds (HEAD tells the offset to go on from).`, { ...retryAfter, cause }),

  uploadOutcomePending: () =>
    new UploadStateError('UPLOAD_OUTCOME_PENDING', `Every byte of the upload was sent completely and the upstream has not answered yet: the outcome is not known yet. Ask again (HEAD) in ${RETRY_AFTER_SECONDS} seconds for the contextId; do not start a new upload, or the archive may be stored twice.`, retryAfter),

  uploadOutcomeUnknown: (detail: string) =>
    new UploadStateError('UPLOAD_OUTCOME_UNKNOWN', `Every byte of the upload was sent completely, but its outcome is not known (${detail}); this upload URL never uploads it again. Ask again (HEAD) in ${RETRY_AFTER_SECONDS} seconds in case the answer is recorded; check with the BuildService before uploading the archive anew.`, retryAfter),

  resumableOutcomeUnknown: (timeoutMs: number) =>
    new MaybeStoredError('UPLOAD_OUTCOME_PENDING', `Every byte of the upload was sent completely, but the upstream BuildService has not answered within ${timeoutMs} ms (UPSTREAM_RESPONSE_TIMEOUT_MS): the outcome is not known yet, the context may or may not be stored. Do not upload it again: ask HEAD on this upload's URL in ${RETRY_AFTER_SECONDS} seconds, which answers with the contextId once the upstream does.`, retryAfter),

  patchSuperseded: () =>
    new UploadStateError('PATCH_SUPERSEDED', 'A newer request for this upload arrived, so this PATCH was ended; the bytes it delivered are kept. HEAD tells the offset to go on from.'),

  // Builds (the hand-off to CreateBuild):
  buildNotConfigured: () =>
    new RequestError('BUILD_NOT_CONFIGURED', 'This bridge starts no builds: IGNITE_API_URL is not set (it has no default with IGNITE_GRPC_TARGET, so callers\' tokens never go to a guessed host); nothing was read or stored. Upload without `build`, then call CreateBuild yourself, or ask the operator to set IGNITE_API_URL.'),

  buildNotStarted: (contextId: string, apiStatus: number, apiMessage: string, apiDetails: unknown[]) =>
    new BuildError('BUILD_NOT_STARTED', `The context was stored as ${contextId}, but the build did not start: ${apiStatus ? `CreateBuild answered ${apiStatus}` : 'CreateBuild could not be reached'} (${apiMessage}). Do not upload again: retry with the same Idempotency-Key (only the build is retried), or call POST /v1/ignite/builds with {"contextId":"${contextId}"} yourself.`,
      contextId, apiDetails).withMetadata({ contextId, apiStatus: String(apiStatus), apiMessage }),

  buildOutcomeUnknown: (contextId: string, reason: string) =>
    new BuildError('BUILD_OUTCOME_UNKNOWN', `The context was stored as ${contextId}, but whether the build started is unknown (${reason}): the build may exist. Do not upload again; look for a build of ${contextId} before starting one (a retry with the same Idempotency-Key answers this again, it never starts a second build).`,
      contextId, []).withMetadata({ contextId }),

  buildNotSigned: () =>
    new RequestError('BUILD_NOT_SIGNED', 'This signed request asks for a build in its query, which a v1 signature (`sha256=`) does not cover, so a captured request could be replayed with another build: sign it with v2 (`X-Signature-256: v2=<hex HMAC-SHA256 of timestamp + "." + METHOD + "." + path?query + "." + raw body>`, see docs/webhooks.md, "Signed uploads"), or send `build`/`tags` as multipart fields; nothing was read or stored.'),

  signedBuildNeedsServiceToken: () =>
    new RequestError('SIGNED_BUILD_NEEDS_SERVICE_TOKEN', 'This signed request asks for a build, and a signed request\'s build is started with the bridge\'s own credential, IGNITE_SERVICE_TOKEN, which is not set; nothing was read or stored. Upload without `build`, send `Authorization` instead of a signature, or ask the operator to set IGNITE_SERVICE_TOKEN.'),

  invalidBuild: (detail: string) =>
    new RequestError('INVALID_BUILD', `Invalid build request: ${detail}. Ask for a build with \`build=<name>\` (1 to 255 bytes of UTF-8) and optional \`tags=latest,v2\` (at most 16 Docker tags); nothing was read or stored.`),

  /** An upstream gRPC status, mapped exactly as grpc-gateway maps it. */
  upstream: (grpcCode: number, details: string) => {
    const name = grpcCodeName[grpcCode] ?? `code ${grpcCode}`;
    // grpc-js fails a call only with codes 1 to 16; anything else would be the upstream's bug, relayed as UNKNOWN.
    const reason = `UPSTREAM_${name}` in RELAYED_REASONS ? `UPSTREAM_${name as UpstreamCodeName}` as const : 'UPSTREAM_UNKNOWN';
    const hint = grpcCode === GrpcCode.UNAVAILABLE
      ? ' The upstream BuildService is unreachable; retry later.'
      : grpcCode === GrpcCode.UNAUTHENTICATED
        ? ' Send a valid `Authorization: Bearer <token>` header.'
        : '';
    return new UpstreamError(reason, `Upstream BuildService answered ${name}: ${details || '(no details)'}.${hint}`, grpcCode);
  },
};

/** Anything thrown that is not a BridgeError (Fastify's own errors included) as a Status body. */
export function toBridgeError(err: unknown): BridgeError {
  if (err instanceof BridgeError) return err;
  const e = err as { statusCode?: unknown; message?: unknown; code?: unknown };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 404) return new RequestError('NOT_FOUND', typeof e.message === 'string' ? e.message : 'Not found');
  if (status >= 400 && status < 500) {
    // One documented reason for whatever the framework refused; its own code stays visible for a bug report.
    const error = new RequestError('BAD_REQUEST', typeof e.message === 'string' ? e.message : 'Bad request', { status });
    return typeof e.code === 'string' ? error.withMetadata({ frameworkCode: e.code }) : error;
  }
  return new InternalError(err);
}
