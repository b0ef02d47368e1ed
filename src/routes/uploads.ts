import multipart, { type MultipartFile, type MultipartValue, type Multipart } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { BridgeError, Errors } from '../errors.js';
import type { UploadObserver, UploadWatch } from '../observability/upload-observer.js';
import { onParseError } from '../http/client-error.js';
import { forwardedHeaders } from '../http/forwarded-headers.js';
import { bodyComplete } from '../http/http2-request.js';
import { untilBodyComplete, withDeadline } from '../upload/abortable.js';
import { algorithmsOf, digestFromHexField, digestsFromHeaders, reprDigest, verifyDigests, wantedDigests } from '../upload/digests.js';
import { filenameFromContentDisposition, validateName } from '../upload/names.js';
import type { UploadGate } from '../upload/upload-gate.js';
import type { UploadOutcome, UploadStreamer } from '../upload/stream-upload.js';
import type { Admission, RouteJob, UploadAdmissions } from '../admission/upload-admission.js';
import { buildRequest, MAX_TAGS, type BuildRequest } from '../builds/build-request.js';
import { replyHandedOff } from '../builds/reply-built.js';

export interface UploadRoutesOptions {
  config: Config;
  streamer: UploadStreamer;
  gate: UploadGate;
  observer: UploadObserver;
  admissions: UploadAdmissions;
}

/** Multipart framing and fields allowed on top of MAX_CONTEXT_BYTES when refusing by Content-Length. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const MULTIPART_FIELDS = ['name', 'expectedSizeBytes', 'sha256', 'build', 'tags'] as const;
/** The fields a form may also send after its file part. */
const AFTER_FILE_FIELDS: ReadonlySet<string> = new Set(['build', 'tags']);
type MultipartFields = Partial<Record<Exclude<(typeof MULTIPART_FIELDS)[number], 'tags'>, string>> & { tags?: string[] };
/** Long enough for a build name and 16 tags of 128 characters in one field. */
const FIELD_SIZE_BYTES = 4096;
/**
 * Text fields other than MULTIPART_FIELDS are ignored, never refused: form
 * clients add their own (Uppy's XHR upload sends `name` and `type` before the
 * file, others `relativePath`).
 */
type IgnoredField = (fieldname: string) => void;

export async function uploadRoutes(app: FastifyInstance, { config, streamer, gate, admissions, observer }: UploadRoutesOptions): Promise<void> {
  await app.register(multipart, {
    limits: {
      // One past the limit, so our own counter (which knows the archive size) reports 413 first.
      fileSize: config.maxContextBytes + 1,
      files: 1,
      // Room for `tags` repeated once per tag.
      fields: 8 + MAX_TAGS,
      fieldSize: FIELD_SIZE_BYTES,
      fieldNameSize: 100,
      parts: 10 + MAX_TAGS,
      headerPairs: 16,
    },
  });

  const multipartError = (err: unknown) => toMultipartError(err, config.maxContextBytes);

  app.post('/v1/ignite/contexts', async (request, reply) => {
    if (request.isMultipart()) return multipartUpload(request, reply);
    const query = request.query as Record<string, unknown>;
    const name = queryName(query) ?? filenameFromContentDisposition(request.headers['content-disposition']);
    if (name === undefined) {
      throw Errors.missingName('pass it as `?name=ctx.tar.gz`, in `Content-Disposition: attachment; filename="ctx.tar.gz"`, or PUT to /v1/ignite/contexts/<name>.');
    }
    return rawUpload(request, reply, name);
  });

  app.put('/v1/ignite/contexts/:name', async (request, reply) => {
    return rawUpload(request, reply, (request.params as { name: string }).name);
  });

  const putWithoutName = async () => {
    throw Errors.missingName('put it in the path, PUT /v1/ignite/contexts/<name>, e.g. `tar -cz . | curl -T - http://HOST/v1/ignite/contexts/ctx.tar.gz` (curl adds no file name when it reads stdin).');
  };
  app.put('/v1/ignite/contexts/', putWithoutName);
  app.put('/v1/ignite/contexts', putWithoutName);

  async function rawUpload(request: FastifyRequest, reply: FastifyReply, rawName: string) {
    const name = validateName(rawName);
    if (request.headers['content-type']?.toLowerCase().startsWith('multipart/')) {
      throw Errors.malformedRequest('A multipart body was sent to PUT: PUT takes the raw archive (`curl -T ctx.tar.gz …`); send multipart forms to POST /v1/ignite/contexts.');
    }
    const declared = declaredLength(request);
    if (declared !== undefined && declared > config.maxContextBytes) throw Errors.tooLarge(config.maxContextBytes);
    const digests = digestsFromHeaders(request.headers);
    const build = queryBuild(request.query as Record<string, unknown>);
    return runUpload(request, reply, build, (job) => streamer.upload(request.raw, {
      ...job,
      name,
      expectedSizeBytes: declared ?? 0,
      digests: algorithmsOf(digests, job.digests),
      checks: [(archive) => verifyDigests(digests, archive.digests), ...job.checks ?? []],
    }));
  }

  async function multipartUpload(request: FastifyRequest, reply: FastifyReply) {
    if (!/;\s*boundary=/i.test(request.headers['content-type'] ?? '')) {
      throw Errors.malformedMultipart('the Content-Type has no boundary parameter');
    }
    const declared = declaredLength(request);
    if (declared !== undefined && declared > config.maxContextBytes + MULTIPART_OVERHEAD_BYTES) {
      throw Errors.tooLarge(config.maxContextBytes);
    }
    const query = request.query as Record<string, unknown>;
    const inQuery = queryBuild(query);
    return runUpload(request, reply, inQuery, async (job, admission) => {
      const parts = request.parts()[Symbol.asyncIterator]();
      // Fields and the end of the form are read outside the streamer's idle timer: a client that stalls there
      // must not hold its slot (and an open upstream call) forever.
      const next = () => withDeadline(
        parts.next().catch((err: unknown) => { throw multipartError(err); }),
        config.uploadIdleTimeoutMs, () => Errors.idleTimeout(config.uploadIdleTimeoutMs), job.signal);
      const fields: MultipartFields = {};
      let file: MultipartFile | undefined;
      for (let part = await next(); !part.done; part = await next()) {
        if (part.value.type === 'file') {
          file = part.value;
          break;
        }
        readField(part.value, fields, (fieldname) => request.log.debug({ field: fieldname }, 'multipart text field ignored'));
      }
      const requestBuild = () => {
        if (fields.build === undefined && fields.tags === undefined) return;
        if (inQuery) throw Errors.invalidBuild('the build is given both in the query and in the form: give it once');
        admission.requestBuild(buildRequest(fields.build, fields.tags), 'body');
      };
      // Before the file part's first byte is read, let alone forwarded.
      requestBuild();
      const beforeFile = { build: fields.build, tags: fields.tags?.length };
      if (!file) throw Errors.missingFilePart();
      if (file.fieldname !== 'file') throw Errors.unexpectedPart(`The file part is named "${file.fieldname}", not "file"`);
      const name = validateName(fields.name ?? queryName(query) ?? file.filename ?? '');
      const expectedSizeBytes = fields.expectedSizeBytes === undefined ? 0 : parseSize(fields.expectedSizeBytes);
      if (expectedSizeBytes > config.maxContextBytes) throw Errors.tooLarge(config.maxContextBytes);
      const digests = digestFromHexField(fields.sha256);
      const upload = file;
      return streamer.upload(upload.file, {
        ...job,
        name,
        expectedSizeBytes,
        digests: algorithmsOf(digests, job.digests),
        sourceError: multipartError,
        checks: [
          () => {
            if (upload.file.truncated) throw Errors.tooLarge(config.maxContextBytes);
          },
          (archive) => verifyDigests(digests, archive.digests),
          // After the file only `build` and `tags` may follow (`curl -F file=@ctx.tar.gz -F build=app` sends
          // them last): they matter only once the context is stored, so they are checked here, before the
          // half-close. Anything that shapes the upload itself after it is refused.
          async () => {
            for (let after = await next(); !after.done; after = await next()) {
              if (after.value.type === 'file') throw Errors.unexpectedPart('A second file part follows the first');
              if (!AFTER_FILE_FIELDS.has(after.value.fieldname)) {
                if ((MULTIPART_FIELDS as readonly string[]).includes(after.value.fieldname)) throw Errors.unexpectedPart(`The field "${after.value.fieldname}" comes after the file part`);
                request.log.debug({ field: after.value.fieldname }, 'multipart text field ignored');
                continue;
              }
              readField(after.value, fields, () => {});
            }
            if (fields.build !== beforeFile.build || fields.tags?.length !== beforeFile.tags) requestBuild();
          },
          ...job.checks ?? [],
        ],
      });
    });
  }

  type StartUpload = (job: RouteJob, admission: Admission) => Promise<UploadOutcome>;

  /** Every upload form: metrics and the one log line per upload, around the upload itself. */
  async function runUpload(request: FastifyRequest, reply: FastifyReply, build: BuildRequest | undefined, start: StartUpload) {
    return replyHandedOff(reply, await observer.observe(request, (watch) => admitUpload(request, reply, watch, build, start), undefined, reply));
  }

  /** Shared by every upload form: capacity, abort wiring, 100-continue, the reply (and the build's hand-off). */
  async function admitUpload(request: FastifyRequest, reply: FastifyReply, watch: UploadWatch, build: BuildRequest | undefined, start: StartUpload) {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') throw Errors.unsupportedContentEncoding(encoding);
    const authorization = request.headers.authorization;
    const headers = forwardedHeaders(request, typeof authorization === 'string' ? authorization : undefined);
    const slot = gate.enter();
    const onClose = () => {
      if (!reply.raw.writableEnded) slot.abort(Errors.clientAborted());
    };
    reply.raw.once('close', onClose);
    const unroute = onParseError(request.raw, (err) => slot.abort(err));
    // `complete`: every body byte has been received and parsed. A socket destroyed before they are all read
    // still fails the read, which cancels the call; a client that merely leaves no longer does.
    const signal = untilBodyComplete(slot.signal, () => bodyComplete(request.raw));
    try {
      // Signature headers and Idempotency-Key: refused (401, 409, 504) before the body.
      const admission = await admissions.admit(request);
      admission.requestBuild(build, 'query');
      // Every early check has passed: only now may the client start sending its body.
      if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
      const outcome = await start(admission.job({ headers, signal, watch, digests: wantedDigests(request.headers) }), admission).catch(async (err: unknown) => {
        await admission.fail(err);
        throw err;
      });
      const digest = reprDigest(outcome.digests);
      if (digest) reply.header('repr-digest', digest);
      return await admission.finish(outcome, reply, () => {
        reply.raw.removeListener('close', onClose);
        slot.release();
      });
    } finally {
      reply.raw.removeListener('close', onClose);
      unroute();
      slot.release();
    }
  }
}

/** `?build=<name>&tags=a,b` (or `tags` repeated): validated before the body. */
function queryBuild(query: Record<string, unknown>): BuildRequest | undefined {
  return buildRequest(query['build'], query['tags']);
}

function queryName(query: Record<string, unknown>): string | undefined {
  const name = query['name'];
  if (Array.isArray(name)) throw Errors.malformedRequest('?name= is given more than once; give it once.');
  return typeof name === 'string' ? name : undefined;
}

/** Content-Length of a body that is not chunked, if the client announced one. */
function declaredLength(request: FastifyRequest): number | undefined {
  const length = request.headers['content-length'];
  if (length === undefined || request.headers['transfer-encoding'] !== undefined) return undefined;
  return Number(length);
}

function parseSize(value: string): number {
  const size = /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(size)) {
    throw Errors.malformedMultipart(`the field expectedSizeBytes is ${JSON.stringify(value)}, not a byte count`);
  }
  return size;
}

function readField(part: MultipartValue | Multipart, fields: MultipartFields, ignored: IgnoredField): void {
  const field = part as MultipartValue<string>;
  if (!(MULTIPART_FIELDS as readonly string[]).includes(field.fieldname)) {
    ignored(field.fieldname);
    return;
  }
  if (field.valueTruncated) throw Errors.malformedMultipart(`the field ${field.fieldname} is longer than ${FIELD_SIZE_BYTES} bytes`);
  if (field.fieldname === 'tags') {
    (fields.tags ??= []).push(String(field.value));
    return;
  }
  if (fields[field.fieldname as keyof MultipartFields] !== undefined) {
    throw Errors.unexpectedPart(`The field "${field.fieldname}" is given twice`);
  }
  fields[field.fieldname as Exclude<keyof MultipartFields, 'tags'>] = String(field.value);
}

/** @fastify/multipart and busboy errors as the refusals the client gets. */
function toMultipartError(err: unknown, maxBytes: number): BridgeError {
  if (err instanceof BridgeError) return err;
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE': return Errors.tooLarge(maxBytes);
    case 'FST_FILES_LIMIT': return Errors.unexpectedPart('A second file part follows the first');
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT': return Errors.unexpectedPart('The form has too many parts');
    case 'FST_MP_PREMATURE_CLOSE':
    case 'ECONNRESET': return Errors.clientAborted();
    default: return Errors.malformedMultipart(e.message ?? 'unreadable');
  }
}
