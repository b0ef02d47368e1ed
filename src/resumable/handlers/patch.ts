import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, toBridgeError } from '../../errors.js';
import { onParseError } from '../../http/client-error.js';
import { forwardedHeaders } from '../../http/forwarded-headers.js';
import type { UploadWatch } from '../../observability/upload-observer.js';
import { NO_SPAN, tracing } from '../../observability/tracing.js';
import { finalBuildAnswer } from '../resumable-build.js';
import type { PatchResult, ResumableUpload } from '../resumable-upload.js';
import { byteCount, heldState, PATCH_CONTENT_TYPE, tusHeaders } from '../tus-protocol.js';
import { reached, type Ended } from '../upload-store.js';
import { recordedContext } from './recorded-end.js';
import type { TusContext } from './tus-context.js';

/**
 * PATCH: the body's bytes, from Upload-Offset on, into the upload's call
 * (204 with the new offset), or to the replica that holds it. The PATCH that
 * delivers the last byte waits for the upstream's answer (200, with the
 * build step when one was asked for); repeated, it gets that answer again.
 */
export function patchHandler(context: TusContext) {
  return async function patch(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    let next = await context.store.find(request, 'PATCH');
    for (;;) {
      const found = await reached(next, reply);
      if (!found) return reply;
      switch (found.at) {
        case 'here': {
          const upload = found.upload;
          if (await receive(context, request, reply, upload, byteCount('Upload-Offset', request.headers['upload-offset']))) return reply;
          return reply.code(204).headers(tusHeaders(heldState(upload))).send();
        }
        case 'ended':
          return answerAgain(request, reply, found);
        case 'unclaimed':
          next = await found.claim();
          break;
      }
    }
  };
}

/**
 * Feeds the request body into the upload from `offset`. True when the
 * upload completed and its 200 was sent (not the Reply itself: it is
 * thenable, so an async function returning it would send nothing), false
 * when it waits for more bytes; throws what the client is told otherwise.
 */
export async function receive({ config, gate, observer, builds }: TusContext, request: FastifyRequest, reply: FastifyReply, upload: ResumableUpload, offset: number | undefined): Promise<boolean> {
  const type = request.headers['content-type'];
  if (type?.split(';')[0]!.trim().toLowerCase() !== PATCH_CONTENT_TYPE) throw Errors.patchContentType(type);
  if (offset === undefined) throw Errors.offsetMismatch(upload.offset, undefined);
  if (tracing.on) traceResume(upload, offset);
  const length = byteCount('Upload-Length', request.headers['upload-length']);
  if (length !== undefined && length > config.maxContextBytes) throw Errors.tooLarge(config.maxContextBytes);
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') throw Errors.unsupportedContentEncoding(encoding);
  const contentLength = request.headers['transfer-encoding'] === undefined ? byteCount('Content-Length', request.headers['content-length']) : undefined;
  // A deferred length cannot end the upload at Upload-Length: refuse bytes that cannot fit before they are sent.
  if (contentLength !== undefined && offset + contentLength > config.maxContextBytes) throw Errors.tooLarge(config.maxContextBytes);
  // A PATCH receiving bytes takes an upload slot; a paused upload may still finish during a drain.
  const slot = gate.enter({ duringDrain: true });
  const onShutdown = () => upload.end(toBridgeError(slot.signal.reason));
  slot.signal.addEventListener('abort', onShutdown, { once: true });
  const authorization = request.headers.authorization;
  // One log line and one count per upload, however many PATCHes it takes: from the PATCH that opens its call.
  const observe = () => {
    let watch: UploadWatch = () => NO_SPAN;
    void observer.observe(request, (w) => {
      watch = w;
      return upload.outcome();
    }, 'resumable', upload.spec.trace).catch(() => {});
    return watch;
  };
  // Framing Node's parser refuses, or a client closing mid-body, ends this PATCH at once (not at the idle timeout).
  const broken = new AbortController();
  const unroute = onParseError(request.raw, (error) => broken.abort(error));
  let result: PatchResult;
  try {
    result = await upload.patch({
      body: request.raw,
      offset,
      contentLength,
      length,
      broken: broken.signal,
      headers: forwardedHeaders(request, typeof authorization === 'string' ? authorization : undefined),
      observe,
      // Only once the offset and the upload's state were checked may the client start sending.
      beforeBody: () => {
        if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
      },
      idleTimeoutMs: config.uploadIdleTimeoutMs,
    });
  } catch (err) {
    if (upload.phase === 'receiving') reply.headers(tusHeaders(heldState(upload)));
    throw err;
  } finally {
    unroute();
    slot.signal.removeEventListener('abort', onShutdown);
    slot.release();
  }
  if (result.kind === 'progress') return false;
  reply.headers(tusHeaders(heldState(upload)));
  // The slot is released: the CreateBuild call holds none. Started once; a repeated final PATCH gets the same answer.
  const building = builds.start(upload);
  if (!building) {
    reply.code(200).send(result.answer);
    return true;
  }
  const built = finalBuildAnswer(result.answer, await building, (headers) => { reply.headers(headers); });
  reply.code(200).headers(built.headers).type('application/json').send(built.body);
  return true;
}

/** The final PATCH again, for an upload stored on its owner: the final answer again (200 with the build, or its 424). */
function answerAgain(request: FastifyRequest, reply: FastifyReply, found: Ended): FastifyReply {
  const { state, answer, outcome } = recordedContext(found, 'PATCH');
  const offset = byteCount('Upload-Offset', request.headers['upload-offset']);
  if (offset !== state.offset) throw Errors.offsetMismatch(state.offset, request.headers['upload-offset'] as string | undefined);
  if (!outcome) return reply.code(200).headers(tusHeaders(state)).send(answer);
  reply.headers(tusHeaders(state));
  const built = finalBuildAnswer(answer, outcome, (more) => { reply.headers(more); });
  return reply.code(200).headers(built.headers).type('application/json').send(built.body);
}

/** A PATCH's span: which upload, from where, linked to the upload's creation (a PATCH is a trace of its own, or its client's). */
function traceResume(upload: ResumableUpload, offset: number): void {
  const span = tracing.current();
  span.set({ 'ignite.resumable.upload_id': upload.id, 'ignite.resumable.offset': offset, 'ignite.resumable.resumed': upload.paused });
  if (upload.spec.trace && upload.spec.trace !== span.traceparent) span.link(upload.spec.trace);
}
