import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Every body piece Node's HTTP parser hands over is a fresh 64 KiB buffer, so
 * an upload allocates its own size again in short-lived external memory. In
 * most processes scavenges free it cheaply. But under CPU contention V8's
 * heap-growing heuristics can set the old generation's limit so close to
 * its size that a timer task keeps starting incremental marking: a full
 * mark-compact every 30 MiB or so, for the rest of the process's life
 * (trace-gc: 10 to 34 mark-compacts per 1.5 GiB instead of one, and twice
 * the CPU per GiB; it struck about one process in three on a loaded 2-core
 * machine). Without incremental marking a full GC runs only when the old
 * generation is really full, atomically (a pause of a few ms for this small
 * heap). Sweeping array buffers on the main thread, during the scavenge,
 * keeps the external-memory count exact when background threads lag.
 * Loading the modules (Fastify, grpc-js, protobufjs…) would grow the young
 * generation to 16 MiB semi-spaces, committed for the process's life: start-up
 * runs with a growth factor of 1 (1 MiB semi-spaces, idle RSS −7 MiB), and
 * `startedUp` gives V8 its default back, since a young generation held at
 * 1 MiB made every small upload about 0.3 ms slower (kept-alive 1 KiB p50,
 * lab).
 *
 * Start-up also runs with TurboFan off. Loading the modules makes a few
 * dozen start-up-only functions hot (the CommonJS export lexer, path
 * resolution); optimizing them runs on V8's worker threads, whose malloc
 * arenas keep the memory afterwards: idle RSS 73 MiB with TurboFan on at
 * start-up, 60 MiB without, for a start-up a few ms longer. `startedUp`
 * turns it back on, so the request path is optimized as it warms.
 * (All these flags are read by V8 when it uses them, so setting them before
 * the bridge's modules load takes effect.)
 */
export function tuneGarbageCollection(): void {
  setFlagsFromString('--no-incremental-marking');
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--no-turbofan');
  tuned = true;
  minorGc = 'on first use';
}

/** The bridge is listening: the young generation may grow and code be optimized again (see tuneGarbageCollection). */
export function startedUp(): void {
  if (!tuned) return;
  setFlagsFromString('--semi-space-growth-factor=2');
  setFlagsFromString('--turbofan');
}

/** tuneGarbageCollection ran (the entry point's, not a test's process). */
let tuned = false;
/** Young-generation bytes of body pieces between two minor GCs (see `bodyBytesAllocated`). */
const YOUNG_BODY_BYTES = 8 * 1024 * 1024;
let youngBodyBytes = 0;
/** V8's gc() with the minor option, from a context made for it on first use (about 1 MiB, not paid while idle). */
let minorGc: 'off' | 'on first use' | (() => void) = 'off';

/**
 * V8 collects the young generation once 32 MiB of young array buffers have
 * piled up (twice its default maximum semi-space, whatever the configured
 * one); body pieces are such buffers, so every process would keep up to
 * 32 MiB of dead ones resident. Told of every piece, this collects after each
 * 8 MiB instead: a minor GC here costs about 0.1-0.3 ms, since an upload keeps
 * almost nothing young alive. A no-op unless tuneGarbageCollection ran.
 */
export function bodyBytesAllocated(bytes: number): void {
  youngBodyBytes += bytes;
  if (youngBodyBytes < YOUNG_BODY_BYTES || minorGc === 'off') return;
  youngBodyBytes = 0;
  if (minorGc === 'on first use') {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as ((options: { type: 'minor' }) => void) | undefined;
    minorGc = typeof gc === 'function' ? () => gc({ type: 'minor' }) : 'off';
    if (minorGc === 'off') return;
  }
  minorGc();
}
