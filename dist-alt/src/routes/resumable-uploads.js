import { Errors, toBridgeError } from '../errors.js';
import { identifyCaller } from '../admission/authenticate.js';
import { onParseError, parseErrorOf } from '../http/client-error.js';
import { discardBody } from '../http/discard-body.js';
import { forwardedHeaders } from '../http/forwarded-headers.js';
import { hasRequestBody } from '../http/http2-request.js';
import { NO_SPAN, tracing } from '../observability/tracing.js';
import { ResumableUpload } from '../resumable/resumable-upload.js';
import { addressCapKey, credentialCapKey } from '../resumable/creation-caps.js';
import { buildStateHeaders, finalBuildAnswer } from '../resumable/resumable-build.js';
import { buildRequest } from '../builds/build-request.js';
import { byteCount, httpDate, parseMetadata, PATCH_CONTENT_TYPE, TUS_EXTENSIONS, TUS_VERSION } from '../resumable/tus-protocol.js';
import { validateName } from '../upload/names.js';
const BASE = '/v1/ignite/uploads';
/**
 * tus 1.0 (core, creation, creation-with-upload, creation-defer-length,
 * termination, expiration) on Fastify routes: each upload's state is its
 * open gRPC call (ResumableUpload), nothing is staged on disk.
 */
export async function resumableUploadRoutes(app, { config, uploads, gate, observer, shared, builds }) {
    app.addHook('onRequest', async (request) => {
        if (request.method === 'OPTIONS')
            return;
        const version = request.headers['tus-resumable'];
        if (version !== TUS_VERSION)
            throw Errors.tusVersionUnsupported(typeof version === 'string' ? version : undefined);
    });
    app.addHook('onSend', async (request, reply) => {
        if (request.method !== 'OPTIONS')
            reply.header('tus-resumable', TUS_VERSION);
    });
    // Many replicas: an upload held by another replica is answered from its record or forwarded there.
    if (shared)
        app.addHook('preHandler', (request, reply) => shared.route(request, reply));
    const options = async (_request, reply) => reply.code(204).headers({
        'tus-version': TUS_VERSION,
        'tus-extension': TUS_EXTENSIONS,
        'tus-max-size': String(config.maxContextBytes),
    }).send();
    app.options(BASE, options);
    app.options(`${BASE}/:id`, options);
    app.post(BASE, async (request, reply) => {
        const h = request.headers;
        const caller = identifyCaller(h, config);
        if (caller.signature)
            throw Errors.signedNotResumable();
        if (h['upload-concat'] !== undefined)
            throw Errors.invalidTusHeader('Upload-Concat (the concatenation extension) is not supported');
        const length = byteCount('Upload-Length', h['upload-length']);
        if (length === undefined && h['upload-defer-length'] !== '1') {
            throw Errors.invalidTusHeader('The creation request needs Upload-Length (the archive\'s size in bytes) or Upload-Defer-Length: 1');
        }
        if (length !== undefined && h['upload-defer-length'] !== undefined)
            throw Errors.invalidTusHeader('Send Upload-Length or Upload-Defer-Length, not both');
        if (length === 0)
            throw Errors.invalidTusHeader('Upload-Length is 0: an empty body is not an archive');
        if (length !== undefined && length > config.maxContextBytes)
            throw Errors.tooLarge(config.maxContextBytes);
        const metadata = parseMetadata(h['upload-metadata']);
        const rawName = metadata.get('filename') ?? metadata.get('name');
        if (rawName === undefined)
            throw Errors.missingName('give it in Upload-Metadata as `filename` or `name` (tus-js-client: `metadata: { filename: "ctx.tar.gz" }`).');
        // Checked at creation, before any byte: the build starts once the final PATCH stored the context.
        const build = buildRequest(metadata.get('build'), metadata.get('tags'));
        if (build && !config.apiUrl)
            throw Errors.buildNotConfigured();
        // creation-with-upload: the body, if any, is the first PATCH.
        const withBody = (byteCount('Content-Length', h['content-length']) ?? 0) > 0 || hasRequestBody(request.raw);
        const spec = {
            name: validateName(rawName),
            length,
            metadata: typeof h['upload-metadata'] === 'string' ? h['upload-metadata'] : undefined,
            scope: caller.scope,
            // Tokens are not verified at creation: an invented one must not buy a fresh quarter of the caps.
            capKeys: [addressCapKey(request.ip), ...(caller.scope === 'anonymous' ? [] : [credentialCapKey(caller.scope)])],
            ...(build ? { build } : {}),
            // Kept in the upload's record: its span and every PATCH's find the creation's trace from any replica.
            ...(tracing.on ? { trace: tracing.current().traceparent } : {}),
        };
        const upload = shared ? await shared.create(spec, withBody) : uploads.create(spec);
        if (tracing.on)
            tracing.current().set({ 'ignite.resumable.upload_id': upload.id });
        reply.header('location', `${BASE}/${upload.id}`);
        const completed = withBody && upload instanceof ResumableUpload
            ? await patch(request, reply, upload, 0).catch((err) => {
                const refused = parseErrorOf(request.raw);
                // A creation Node's parser refused creates nothing: the upload ends (its call, if opened, is reset).
                if (refused)
                    upload.end(refused);
                if (upload.phase !== 'receiving') {
                    // A stored context (its build refused, 424) keeps its URL: HEAD there reports the build step.
                    if (upload.phase !== 'completed')
                        reply.removeHeader('location');
                    throw err;
                }
                // Only this request ended: the upload exists, with what arrived.
                return false;
            })
            : false;
        if (completed)
            return reply;
        return reply.code(201).headers(offsetHeaders(upload)).send();
    });
    const handlers = {
        HEAD: async (request, reply) => {
            const upload = find(request);
            await upload.takeOver();
            reply.header('cache-control', 'no-store');
            if (upload.phase !== 'completed')
                upload.assertReceiving();
            return reply.code(200).headers({ ...offsetHeaders(upload), ...lengthHeaders(upload), ...answerHeaders(upload), ...buildHeaders(upload) }).send();
        },
        PATCH: async (request, reply) => {
            const upload = find(request);
            if (await patch(request, reply, upload, byteCount('Upload-Offset', request.headers['upload-offset'])))
                return reply;
            return reply.code(204).headers(offsetHeaders(upload)).send();
        },
        DELETE: async (request, reply) => {
            const upload = find(request);
            // Only a request Node's parser accepted whole may terminate anything.
            await discardBody(request.raw, config.uploadIdleTimeoutMs);
            await uploads.terminate(upload);
            return reply.code(204).send();
        },
    };
    app.head(`${BASE}/:id`, handlers.HEAD);
    app.patch(`${BASE}/:id`, handlers.PATCH);
    app.delete(`${BASE}/:id`, handlers.DELETE);
    // X-HTTP-Method-Override (tus-js-client's overridePatchMethod), for proxies that pass only GET and POST.
    app.post(`${BASE}/:id`, async (request, reply) => {
        const method = String(request.headers['x-http-method-override'] ?? '').toUpperCase();
        if (!Object.hasOwn(handlers, method))
            throw Errors.notFound('POST', request.url.split('?')[0]);
        return handlers[method](request, reply);
    });
    function find(request) {
        const caller = identifyCaller(request.headers, config);
        return uploads.get(request.params.id, caller.scope);
    }
    /**
     * Feeds the request body into the upload from `offset`. True when the
     * upload completed and its 200 was sent (not the Reply itself: it is
     * thenable, so an async function returning it would send nothing), false
     * when it waits for more bytes; throws what the client is told otherwise.
     */
    async function patch(request, reply, upload, offset) {
        const type = request.headers['content-type'];
        if (type?.split(';')[0].trim().toLowerCase() !== PATCH_CONTENT_TYPE)
            throw Errors.patchContentType(type);
        if (offset === undefined)
            throw Errors.offsetMismatch(upload.offset, undefined);
        if (tracing.on)
            traceResume(upload, offset);
        const length = byteCount('Upload-Length', request.headers['upload-length']);
        if (length !== undefined && length > config.maxContextBytes)
            throw Errors.tooLarge(config.maxContextBytes);
        const encoding = request.headers['content-encoding']?.trim().toLowerCase();
        if (encoding && encoding !== 'identity')
            throw Errors.unsupportedContentEncoding(encoding);
        const contentLength = request.headers['transfer-encoding'] === undefined ? byteCount('Content-Length', request.headers['content-length']) : undefined;
        // A deferred length cannot end the upload at Upload-Length: refuse bytes that cannot fit before they are sent.
        if (contentLength !== undefined && offset + contentLength > config.maxContextBytes)
            throw Errors.tooLarge(config.maxContextBytes);
        // A PATCH receiving bytes takes an upload slot; a paused upload may still finish during a drain.
        const slot = gate.enter({ duringDrain: true });
        const onShutdown = () => upload.end(toBridgeError(slot.signal.reason));
        slot.signal.addEventListener('abort', onShutdown, { once: true });
        const authorization = request.headers.authorization;
        // One log line and one count per upload, however many PATCHes it takes: from the PATCH that opens its call.
        const observe = () => {
            let watch = () => NO_SPAN;
            void observer.observe(request, (w) => {
                watch = w;
                return upload.outcome();
            }, 'resumable', undefined, upload.spec.trace).catch(() => { });
            return watch;
        };
        // Framing Node's parser refuses, or a client closing mid-body, ends this PATCH at once (not at the idle timeout).
        const broken = new AbortController();
        const unroute = onParseError(request.raw, (error) => broken.abort(error));
        let result;
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
                    if (request.headers.expect?.toLowerCase() === '100-continue')
                        reply.raw.writeContinue();
                },
                idleTimeoutMs: config.uploadIdleTimeoutMs,
            });
        }
        catch (err) {
            if (upload.phase === 'receiving')
                reply.headers(offsetHeaders(upload));
            throw err;
        }
        finally {
            unroute();
            slot.signal.removeEventListener('abort', onShutdown);
            slot.release();
        }
        if (result.kind === 'progress')
            return false;
        reply.headers({ ...offsetHeaders(upload), ...answerHeaders(upload) });
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
}
/** A PATCH's span: which upload, from where, linked to the upload's creation (a PATCH is a trace of its own, or its client's). */
function traceResume(upload, offset) {
    const span = tracing.current();
    span.set({ 'ignite.resumable.upload_id': upload.id, 'ignite.resumable.offset': offset, 'ignite.resumable.resumed': upload.paused });
    if (upload.spec.trace && upload.spec.trace !== span.traceparent)
        span.link(upload.spec.trace);
}
function offsetHeaders(upload) {
    return { 'upload-offset': String(upload.offset), 'upload-expires': httpDate(upload.expiresAt) };
}
function lengthHeaders(upload) {
    const headers = upload.length === undefined ? { 'upload-defer-length': '1' } : { 'upload-length': String(upload.length) };
    if (upload.spec.metadata !== undefined)
        headers['upload-metadata'] = upload.spec.metadata;
    return headers;
}
/** A stored context that asked for a build: where its build step stands (HEAD never says 4xx or 5xx for it). */
function buildHeaders(upload) {
    return upload.answer && upload.spec.build ? buildStateHeaders(upload.build?.outcome) : {};
}
function answerHeaders(upload) {
    return upload.answer ? { 'ignite-context-id': upload.answer.contextId, 'ignite-size-bytes': upload.answer.sizeBytes } : {};
}
//# sourceMappingURL=resumable-uploads.js.map