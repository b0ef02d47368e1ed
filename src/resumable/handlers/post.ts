import type { FastifyReply, FastifyRequest } from 'fastify';
import { identifyCaller } from '../../admission/authenticate.js';
import { buildRequest } from '../../builds/build-request.js';
import { Errors } from '../../errors.js';
import { parseErrorOf } from '../../http/client-error.js';
import { hasRequestBody } from '../../http/http2-request.js';
import { tracing } from '../../observability/tracing.js';
import { validateName } from '../../upload/names.js';
import { addressCapKey, credentialCapKey } from '../creation-caps.js';
import { ResumableUpload } from '../resumable-upload.js';
import { byteCount, heldState, parseMetadata, tusHeaders } from '../tus-protocol.js';
import { receive } from './patch.js';
import { TUS_BASE, type TusContext } from './tus-context.js';

/**
 * POST (creation, creation-defer-length, creation-with-upload): a new
 * upload, 201 with its URL in Location. Everything a build needs is checked
 * here, before any byte; a body, if any, is the upload's first PATCH.
 */
export function postHandler(context: TusContext) {
  const { config, store } = context;
  return async function create(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const h = request.headers;
    const caller = identifyCaller(h, config);
    if (caller.signature) throw Errors.signedNotResumable();
    if (h['upload-concat'] !== undefined) throw Errors.invalidTusHeader('Upload-Concat (the concatenation extension) is not supported');
    const length = byteCount('Upload-Length', h['upload-length']);
    if (length === undefined && h['upload-defer-length'] !== '1') {
      throw Errors.invalidTusHeader('The creation request needs Upload-Length (the archive\'s size in bytes) or Upload-Defer-Length: 1');
    }
    if (length !== undefined && h['upload-defer-length'] !== undefined) throw Errors.invalidTusHeader('Send Upload-Length or Upload-Defer-Length, not both');
    if (length === 0) throw Errors.invalidTusHeader('Upload-Length is 0: an empty body is not an archive');
    if (length !== undefined && length > config.maxContextBytes) throw Errors.tooLarge(config.maxContextBytes);
    const metadata = parseMetadata(h['upload-metadata']);
    const rawName = metadata.get('filename') ?? metadata.get('name');
    if (rawName === undefined) throw Errors.missingName('give it in Upload-Metadata as `filename` or `name` (tus-js-client: `metadata: { filename: "ctx.tar.gz" }`).');
    // Checked at creation, before any byte: the build starts once the final PATCH stored the context.
    const build = buildRequest(metadata.get('build'), metadata.get('tags'));
    if (build && !config.apiUrl) throw Errors.buildNotConfigured();
    // creation-with-upload: the body, if any, is the first PATCH.
    const withBody = (byteCount('Content-Length', h['content-length']) ?? 0) > 0 || hasRequestBody(request.raw);
    const upload = await store.create({
      name: validateName(rawName),
      length,
      metadata: typeof h['upload-metadata'] === 'string' ? h['upload-metadata'] : undefined,
      scope: caller.scope,
      // Tokens are not verified at creation: an invented one must not buy a fresh quarter of the caps.
      capKeys: [addressCapKey(request.ip), ...(caller.scope === 'anonymous' ? [] : [credentialCapKey(caller.scope)])],
      ...(build ? { build } : {}),
      // Kept in the upload's record: its span and every PATCH's find the creation's trace from any replica.
      ...(tracing.on ? { trace: tracing.current().traceparent } : {}),
    }, withBody);
    if (tracing.on) tracing.current().set({ 'ignite.resumable.upload_id': upload.id });
    reply.header('location', `${TUS_BASE}/${upload.id}`);
    if (withBody && upload instanceof ResumableUpload && await firstPatch(context, request, reply, upload)) return reply;
    return reply.code(201).headers(tusHeaders(heldState(upload))).send();
  };
}

/** creation-with-upload: true when the body completed the upload (its 200 sent); false when it waits for more bytes. */
async function firstPatch(context: TusContext, request: FastifyRequest, reply: FastifyReply, upload: ResumableUpload): Promise<boolean> {
  try {
    return await receive(context, request, reply, upload, 0);
  } catch (err) {
    const refused = parseErrorOf(request.raw);
    // A creation Node's parser refused creates nothing: the upload ends (its call, if opened, is reset).
    if (refused) upload.end(refused);
    if (upload.phase !== 'receiving') {
      // A stored context (its build refused, 424) keeps its URL: HEAD there reports the build step.
      if (upload.phase !== 'completed') reply.removeHeader('location');
      throw err;
    }
    // Only this request ended: the upload exists, with what arrived.
    return false;
  }
}
