/**
 * The request serializer for UploadBuildContextRequest. A chunk message is
 * just field 2 (tag 0x12), a varint length and the bytes, so it is written
 * by hand: protobufjs would copy every 512 KiB payload twice. Buffers made
 * by `allocChunk` keep a few spare bytes in front of the payload, so the
 * header is written there and the payload is not copied at all.
 */

const CHUNK_TAG = 0x12; // field 2, wire type 2 (length-delimited)
/** The gRPC frame header: a compressed flag and the message length (see frame-in-place.ts). */
export const FRAME_HEADER = 5;
/** Room for the frame header, then the tag byte plus the longest varint a chunk length needs (< 2^28 bytes). */
export const CHUNK_HEADROOM = FRAME_HEADER + 5;

const withHeadroom = new WeakSet<ArrayBufferLike>();

/**
 * Chunk buffers whose bytes have left (UploadCall recycles a chunk once its
 * write completed on a live stream). Reusing them spares a fresh 512 KiB
 * allocation per chunk: page faults, and GC driven by external memory. The
 * pool keeps every chunk handed back, so it never holds more than were in
 * use at once, and the next burst of uploads reuses the last one's chunks:
 * a pool of 8 dropped the rest of 32 concurrent uploads' chunks at the end
 * of each burst, long-lived buffers that only a full GC frees, and those
 * dead chunks were half the RSS peak of such bursts. Spares that a whole
 * SPARE_TRIM_MS did not draw on go at the next trim (so within one or two
 * intervals), down to MIN_SPARE.
 */
const spare: Buffer[] = [];
/** The backing buffers in `spare`: one handed back twice must not be handed out twice. */
const pooled = new WeakSet<ArrayBufferLike>();
const MIN_SPARE = 8;
const SPARE_TRIM_MS = 30_000;
/** The fewest spare chunks since the last trim: that many sat unused all along. */
let fewestSpare = 0;
let trimTimer: NodeJS.Timeout | undefined;

/** A buffer for `size` payload bytes with room for the message header in front of it. */
export function allocChunk(size: number): Buffer {
  const reused = spare.pop();
  fewestSpare = Math.min(fewestSpare, spare.length);
  if (reused) pooled.delete(reused.buffer);
  if (reused?.length === size) return reused;
  const backing = Buffer.allocUnsafeSlow(CHUNK_HEADROOM + size);
  withHeadroom.add(backing.buffer);
  return backing.subarray(CHUNK_HEADROOM);
}

/** Hands a chunk from `allocChunk` back once nothing refers to its bytes any more. */
export function recycleChunk(chunk: Buffer): void {
  if (!withHeadroom.has(chunk.buffer) || pooled.has(chunk.buffer)) return;
  pooled.add(chunk.buffer);
  spare.push(Buffer.from(chunk.buffer, CHUNK_HEADROOM, chunk.buffer.byteLength - CHUNK_HEADROOM));
  if (spare.length > MIN_SPARE) trimSpareLater();
}

function trimSpareLater(): void {
  if (trimTimer) return;
  fewestSpare = spare.length;
  trimTimer = setTimeout(trimSpareChunks, SPARE_TRIM_MS).unref();
}

/** Drops the spare chunks nothing drew on since the last trim, keeping MIN_SPARE. Exported for tests. */
export function trimSpareChunks(): number {
  clearTimeout(trimTimer);
  trimTimer = undefined;
  const unused = Math.min(fewestSpare, spare.length) - MIN_SPARE;
  if (unused > 0) spare.splice(0, unused);
  if (spare.length > MIN_SPARE) trimSpareLater();
  return spare.length;
}

function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

function writeHeader(target: Buffer, offset: number, length: number): void {
  target[offset++] = CHUNK_TAG;
  while (length >= 0x80) {
    target[offset++] = (length & 0x7f) | 0x80;
    length = Math.floor(length / 128);
  }
  target[offset] = length;
}

export function serializeChunk(chunk: Buffer): Buffer {
  const headerLength = 1 + varintLength(chunk.length);
  const start = chunk.byteOffset - headerLength;
  if (withHeadroom.has(chunk.buffer) && start >= FRAME_HEADER && chunk.byteOffset <= CHUNK_HEADROOM) {
    const message = Buffer.from(chunk.buffer, start, headerLength + chunk.length);
    writeHeader(message, 0, chunk.length);
    return message;
  }
  const message = Buffer.allocUnsafe(headerLength + chunk.length);
  writeHeader(message, 0, chunk.length);
  chunk.copy(message, headerLength);
  return message;
}

const preFramed = new WeakSet<Buffer>();

/**
 * Two messages framed here, to go out as one write (the metadata and a whole
 * archive that fits one chunk): one HTTP/2 write instead of two, each of
 * which would wait for the other's completion. The framing filter passes
 * such a buffer through as it is (frame-in-place.ts).
 */
export function framePair(first: Buffer, second: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(2 * FRAME_HEADER + first.length + second.length);
  let at = 0;
  for (const message of [first, second]) {
    framed[at] = 0; // not compressed
    framed.writeUInt32BE(message.length, at + 1);
    message.copy(framed, at + FRAME_HEADER);
    at += FRAME_HEADER + message.length;
  }
  preFramed.add(framed);
  return framed;
}

/** A buffer from `framePair`. */
export function isPreFramed(message: Buffer): boolean {
  return preFramed.has(message);
}

/**
 * The framed gRPC message (uncompressed) for a message `serializeChunk` wrote
 * into a chunk's headroom, its frame header written into the room left in
 * front of it: no copy. Undefined for any other message.
 */
export function frameInPlace(message: Buffer): Buffer | undefined {
  if (!withHeadroom.has(message.buffer) || message.byteOffset < FRAME_HEADER || message.byteOffset > CHUNK_HEADROOM) return undefined;
  const framed = Buffer.from(message.buffer, message.byteOffset - FRAME_HEADER, FRAME_HEADER + message.length);
  framed[0] = 0; // not compressed
  framed.writeUInt32BE(message.length, 1);
  return framed;
}
