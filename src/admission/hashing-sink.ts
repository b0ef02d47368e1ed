import type { UploadResponse } from '../grpc/upload-messages.js';
import type { UploadTarget } from '../upload/upload-target.js';

/**
 * A stand-in upstream that keeps nothing: the streamer still sniffs, limits
 * and hashes the body (that is the point), but no call is opened, so nothing
 * can be stored. Used to fingerprint the body of an idempotent retry.
 */
export const hashingSink: UploadTarget = {
  open: (_metadata, _headers, _parent, first) => {
    let bytes = first?.length ?? 0;
    return {
      // Never settles: a sink cannot fail on its own.
      response: new Promise<UploadResponse>(() => {}),
      write: (chunk: Buffer) => {
        bytes += chunk.length;
        return undefined;
      },
      commit: async () => ({ contextId: '', sizeBytes: String(bytes) }),
      cancel: () => {},
    };
  },
};
