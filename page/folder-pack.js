// A planned folder as a tar.gz byte stream, produced only as fast as it is read: modern-tar's packer
// (PAX headers for long names) into the browser's gzip, cut into pieces of exactly one tus chunk.
import { createTarPacker } from 'modern-tar';

/**
 * Re-chunks a byte stream into pieces of exactly `size` bytes (the last may be shorter).
 * CompressionStream yields ≤ 16 KiB pieces, and tus-js-client copies its whole buffer each time it
 * appends one: whole chunks make that one copy per chunk.
 */
export function fixedChunks(size) {
  let chunk = new Uint8Array(size);
  let filled = 0;
  return new TransformStream({
    transform(piece, controller) {
      let at = 0;
      while (at < piece.length) {
        const n = Math.min(size - filled, piece.length - at);
        chunk.set(piece.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === size) {
          controller.enqueue(chunk);
          chunk = new Uint8Array(size);
          filled = 0;
        }
      }
    },
    flush(controller) {
      if (filled > 0) controller.enqueue(chunk.subarray(0, filled));
    },
  });
}

/**
 * Packs plan.entries in order. onRead(bytes) reports each file's bytes as the packer takes them
 * (the page's progress, against plan.bytes). Cancelling the returned stream stops packing.
 */
export function packFolder(plan, chunkSize, onRead) {
  const { readable, controller } = createTarPacker();
  const pack = async () => {
    for (const entry of plan.entries) {
      if (entry.directory) {
        const body = controller.add({ name: `${entry.path}/`, type: 'directory', size: 0, mode: entry.mode, mtime: entry.mtime });
        await body.close();
        continue;
      }
      const body = controller.add({ name: entry.path, size: entry.size, mode: entry.mode, mtime: entry.mtime });
      const counted = new TransformStream({
        transform(piece, out) {
          onRead(piece.byteLength);
          out.enqueue(piece);
        },
      });
      await entry.file.stream().pipeThrough(counted).pipeTo(body);
    }
    controller.finalize();
  };
  // A failure (a file gone from the disk, a cancelled stream) errors the packer's stream, which the uploader sees.
  pack().catch((err) => controller.error(err));
  return readable.pipeThrough(new CompressionStream('gzip')).pipeThrough(fixedChunks(chunkSize));
}
