import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { Errors } from '../errors.js';
import { identifyCaller } from '../admission/authenticate.js';
import type { UploadObserver } from '../observability/upload-observer.js';
import type { ResumableUploads } from '../resumable/resumable-uploads.js';
import type { SharedResumableUploads } from '../resumable/shared-uploads.js';
import type { ResumableBuilds } from '../resumable/resumable-build.js';
import { LocalUploadStore } from '../resumable/upload-store.js';
import { TUS_BASE, type TusContext } from '../resumable/handlers/tus-context.js';
import { optionsHandler } from '../resumable/handlers/options.js';
import { postHandler } from '../resumable/handlers/post.js';
import { headHandler } from '../resumable/handlers/head.js';
import { patchHandler } from '../resumable/handlers/patch.js';
import { deleteHandler } from '../resumable/handlers/delete.js';
import { TUS_VERSION } from '../resumable/tus-protocol.js';
import type { UploadGate } from '../upload/upload-gate.js';

export interface ResumableRoutesOptions {
  config: Config;
  uploads: ResumableUploads;
  gate: UploadGate;
  observer: UploadObserver;
  /** With REDIS_URL: records in the shared store, requests for uploads held elsewhere forwarded to their owner. */
  shared?: SharedResumableUploads | undefined;
  /** Starts the build an upload asked for once its context is stored. */
  builds: ResumableBuilds;
}

/**
 * tus 1.0 (core, creation, creation-with-upload, creation-defer-length,
 * termination, expiration): a handler per method over one store of uploads
 * (this process's, or shared through Redis with forwarding to the replica
 * holding each); each upload's state is its open gRPC call, nothing is
 * staged on disk.
 */
export async function resumableUploadRoutes(app: FastifyInstance, { config, uploads, gate, observer, shared, builds }: ResumableRoutesOptions): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (request.method === 'OPTIONS') return;
    const version = request.headers['tus-resumable'];
    if (version !== TUS_VERSION) throw Errors.tusVersionUnsupported(typeof version === 'string' ? version : undefined);
  });
  app.addHook('onSend', async (request, reply) => {
    if (request.method !== 'OPTIONS') reply.header('tus-resumable', TUS_VERSION);
  });
  const store = shared ?? new LocalUploadStore(uploads, (request) => identifyCaller(request.headers, config).scope);
  const context: TusContext = { config, store, gate, observer, builds };

  const options = optionsHandler(config);
  app.options(TUS_BASE, options);
  app.options(`${TUS_BASE}/:id`, options);
  app.post(TUS_BASE, postHandler(context));
  const handlers = { HEAD: headHandler(store), PATCH: patchHandler(context), DELETE: deleteHandler(store, config) };
  app.head(`${TUS_BASE}/:id`, handlers.HEAD);
  app.patch(`${TUS_BASE}/:id`, handlers.PATCH);
  app.delete(`${TUS_BASE}/:id`, handlers.DELETE);
  // X-HTTP-Method-Override (tus-js-client's overridePatchMethod), for proxies that pass only GET and POST.
  app.post(`${TUS_BASE}/:id`, async (request, reply) => {
    const method = String(request.headers['x-http-method-override'] ?? '').toUpperCase();
    if (!Object.hasOwn(handlers, method)) throw Errors.notFound('POST', request.url.split('?')[0]!);
    return handlers[method as keyof typeof handlers](request, reply);
  });
}
