import type { Config } from '../../config.js';
import type { UploadObserver } from '../../observability/upload-observer.js';
import type { UploadGate } from '../../upload/upload-gate.js';
import type { ResumableBuilds } from '../resumable-build.js';
import type { UploadStore } from '../upload-store.js';

/** What the tus handlers share: where uploads live, the upload slots, the observer and the build step. */
export interface TusContext {
  config: Config;
  store: UploadStore;
  gate: UploadGate;
  observer: UploadObserver;
  builds: ResumableBuilds;
}

/** The tus routes' base path: an upload's URL is `${TUS_BASE}/<id>`. */
export const TUS_BASE = '/v1/ignite/uploads';
