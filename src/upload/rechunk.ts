/**
 * Cuts any sequence of byte pieces into chunks of exactly `size` bytes (the
 * last may be shorter). Each byte is copied once, into a buffer from `alloc`
 * (the target's own, e.g. with headroom for the gRPC message header, so
 * sending it copies nothing).
 */
export async function* rechunk(pieces: AsyncIterable<Buffer>, size: number, alloc: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size)): AsyncGenerator<Buffer> {
  let chunk = alloc(size);
  let filled = 0;
  for await (const piece of pieces) {
    let offset = 0;
    while (offset < piece.length) {
      const n = Math.min(size - filled, piece.length - offset);
      piece.copy(chunk, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === size) {
        yield chunk;
        chunk = alloc(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield chunk.subarray(0, filled);
}
