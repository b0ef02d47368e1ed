import { createRequire } from 'node:module';
import { allocChunk, frameInPlace, isPreFramed, serializeChunk } from './chunk-serializer.js';

interface WriteObject {
  message: Buffer;
  flags?: number;
}

interface CompressionFilterLike {
  sendCompression?: unknown;
  maxSendMessageLength?: unknown;
  sendMessage: (this: CompressionFilterLike, message: Promise<WriteObject>) => Promise<WriteObject>;
}

export type CompressionFilterClass = new (channelOptions: object, sharedFilterConfig: object) => CompressionFilterLike;

let installed: boolean | undefined;
let framed = 0;
/** The probe confirmed the filter frames as expected: buffers from `framePair` may be sent (see framingVerified). */
let verifiedFilter = false;

/**
 * grpc-js frames every message by copying it into a fresh buffer five bytes
 * longer (compression-filter.js, `writeMessage`). For an upload that is a
 * 512 KiB allocation and copy per chunk: half of all the memory the bridge
 * allocates, and what drives its garbage collection. Chunks from `allocChunk`
 * keep room for the frame header in front, so an uncompressed chunk is framed
 * where it lies. Every other message (metadata, the reference upstream's
 * answers, any compressed call) takes grpc-js's own path, and so does
 * everything if this grpc-js's filter does not behave as expected (see
 * `patchCompressionFilter`): slower, never wrong. HTTP/2 then sends straight
 * from the chunk, so a chunk is reused only after its write completed on a
 * live stream (UploadCall). Returns whether it is installed.
 */
export function installChunkFraming(): boolean {
  if (installed !== undefined) return installed;
  let filter: unknown;
  try {
    const require = createRequire(import.meta.url);
    filter = (require('@grpc/grpc-js/build/src/compression-filter.js') as { CompressionFilter?: unknown }).CompressionFilter;
  } catch {
    // refused below
  }
  installed = patchCompressionFilter(filter);
  if (!installed) {
    process.emitWarning('grpc-js\'s compression filter does not behave as the bridge expects: every upload chunk is copied once more (slower, still correct). Pin @grpc/grpc-js to the version the bridge was tested with.', { code: 'IGNITE_CHUNK_FRAMING' });
  }
  return installed;
}

/**
 * Wraps `filter.prototype.sendMessage` so a chunk is framed in place, but only
 * after a probe shows that this filter, unpatched, does what the wrapper
 * assumes: a new filter (default channel options) sends uncompressed through
 * an identity handler and answers a promise of exactly the frame the wrapper
 * would write. The wrapper takes the fast path only under grpc-js's own
 * condition for not compressing (the identity handler) and within its size
 * limit; anything else goes to the original. Exported for tests.
 */
export function patchCompressionFilter(filter: unknown): boolean {
  const prototype = (filter as { prototype?: CompressionFilterLike } | undefined)?.prototype;
  const original = prototype?.sendMessage;
  if (typeof filter !== 'function' || !prototype || typeof original !== 'function') return false;
  let identity: (new (...args: never[]) => unknown) | undefined;
  // The original answers asynchronously: the fast path stays off until its answer to the probe has been checked.
  let verified = false;
  try {
    const probe = new (filter as CompressionFilterClass)({}, {});
    identity = (probe.sendCompression as { constructor?: new (...args: never[]) => unknown } | undefined)?.constructor;
    const payload = allocChunk(3);
    payload.set([1, 2, 3]);
    const message = serializeChunk(payload);
    const expected = Buffer.from(frameInPlace(message)!);
    const answer = original.call(probe, Promise.resolve({ message, flags: 0 })) as unknown;
    if (typeof identity !== 'function' || !(answer instanceof Promise)) return false;
    answer.then((out: WriteObject | undefined) => {
      if (Buffer.isBuffer(out?.message) && out.message.equals(expected)) verified = verifiedFilter = true;
      else refuse(prototype, original);
    }, () => refuse(prototype, original));
  } catch {
    return false;
  }
  const identityHandler = identity;
  prototype.sendMessage = async function (this: CompressionFilterLike, message: Promise<WriteObject>): Promise<WriteObject> {
    const resolved = await message;
    const limit = this.maxSendMessageLength;
    if (verified && this.sendCompression instanceof identityHandler && (limit === -1 || (typeof limit === 'number' && resolved.message.length <= limit))) {
      if (isPreFramed(resolved.message)) return resolved;
      const inPlace = frameInPlace(resolved.message);
      if (inPlace) {
        framed++;
        return { message: inPlace, flags: resolved.flags };
      }
    }
    // grpc-js would frame the pair as one message: fail the call rather than send that.
    if (isPreFramed(resolved.message)) throw new Error('a pre-framed message pair on a call that compresses');
    return original.call(this, Promise.resolve(resolved));
  };
  return true;
}

function refuse(prototype: CompressionFilterLike, original: CompressionFilterLike['sendMessage']): void {
  prototype.sendMessage = original;
  verifiedFilter = false;
  process.emitWarning('grpc-js frames messages differently than the bridge expects: chunk framing in place is off (slower, still correct).', { code: 'IGNITE_CHUNK_FRAMING' });
}

/**
 * Whether a buffer from `framePair` goes out as framed: only once the probe
 * confirmed the patched filter, and never on a compressed call (the bridge
 * configures none), where grpc-js would frame the pair as one message.
 */
export function framingVerified(): boolean {
  return verifiedFilter;
}

/** Chunks framed in place so far (tests pin that the fast path is taken). */
export function chunksFramedInPlace(): number {
  return framed;
}
