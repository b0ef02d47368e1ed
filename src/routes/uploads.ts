import multipart from '@fastify/multipart';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { Errors } from '../errors.js';
import type { UploadObserver } from '../observability/upload-observer.js';
import { digestsFromHeaders, type ExpectedDigest } from '../upload/digests.js';
import { filenameFromContentDisposition, queryName, validateName } from '../upload/names.js';
import type { UploadGate } from '../upload/upload-gate.js';
import { UploadPipeline, type FormBody, type UploadForm } from '../upload/pipeline.js';
import type { UploadStreamer } from '../upload/stream-upload.js';
import type { UploadAdmissions } from '../admission/upload-admission.js';
import { buildRequest, type BuildRequest } from '../builds/build-request.js';
import { MultipartForm, multipartLimits } from './multipart-form.js';

export interface UploadRoutesOptions {
  config: Config;
  streamer: UploadStreamer;
  gate: UploadGate;
  observer: UploadObserver;
  admissions: UploadAdmissions;
}

/** Multipart framing and fields allowed on top of MAX_CONTEXT_BYTES when refusing by Content-Length. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * POST /v1/ignite/contexts (multipart, or the raw archive) and PUT
 * /v1/ignite/contexts/{name}: what can be refused from the headers alone is,
 * here; the form then goes to the one upload pipeline.
 */
export async function uploadRoutes(app: FastifyInstance, { config, streamer, gate, admissions, observer }: UploadRoutesOptions): Promise<void> {
  await app.register(multipart, { limits: multipartLimits(config.maxContextBytes) });
  const pipeline = new UploadPipeline({ streamer, gate, observer, admissions });

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

  function rawUpload(request: FastifyRequest, reply: FastifyReply, rawName: string) {
    const name = validateName(rawName);
    if (request.headers['content-type']?.toLowerCase().startsWith('multipart/')) {
      throw Errors.malformedRequest('A multipart body was sent to PUT: PUT takes the raw archive (`curl -T ctx.tar.gz …`); send multipart forms to POST /v1/ignite/contexts.');
    }
    const declared = declaredLength(request);
    if (declared !== undefined && declared > config.maxContextBytes) throw Errors.tooLarge(config.maxContextBytes);
    const form = new RawForm(request, name, declared ?? 0, digestsFromHeaders(request.headers), queryBuild(request.query as Record<string, unknown>));
    return pipeline.run(request, reply, form);
  }

  function multipartUpload(request: FastifyRequest, reply: FastifyReply) {
    if (!/;\s*boundary=/i.test(request.headers['content-type'] ?? '')) {
      throw Errors.malformedMultipart('the Content-Type has no boundary parameter');
    }
    const declared = declaredLength(request);
    if (declared !== undefined && declared > config.maxContextBytes + MULTIPART_OVERHEAD_BYTES) {
      throw Errors.tooLarge(config.maxContextBytes);
    }
    const query = request.query as Record<string, unknown>;
    const form = new MultipartForm(request, {
      maxContextBytes: config.maxContextBytes,
      idleTimeoutMs: config.uploadIdleTimeoutMs,
      query,
      queryBuild: queryBuild(query),
    });
    return pipeline.run(request, reply, form);
  }
}

/** A raw POST or a PUT: the request body is the archive. */
class RawForm implements UploadForm, FormBody {
  readonly mode;
  readonly source: Readable;

  constructor(
    request: FastifyRequest,
    readonly name: string,
    readonly expectedSizeBytes: number,
    readonly digests: ExpectedDigest[],
    readonly build: BuildRequest | undefined,
  ) {
    this.mode = request.method === 'PUT' ? 'put' as const : 'raw' as const;
    this.source = request.raw;
  }

  open(): FormBody {
    return this;
  }
}

/** `?build=<name>&tags=a,b` (or `tags` repeated): validated before the body. */
function queryBuild(query: Record<string, unknown>): BuildRequest | undefined {
  return buildRequest(query['build'], query['tags']);
}

/** Content-Length of a body that is not chunked, if the client announced one. */
function declaredLength(request: FastifyRequest): number | undefined {
  const length = request.headers['content-length'];
  if (length === undefined || request.headers['transfer-encoding'] !== undefined) return undefined;
  return Number(length);
}

