import { setFlagsFromString } from 'node:v8';

/**
 * Node 20's V8 optimizes a function only after it has run a budget's worth of
 * bytecode, and the code a small upload runs once per request (routing,
 * hooks, opening a gRPC call) takes thousands of requests to reach it: until
 * then a 1 KiB upload costs about 2.2 ms instead of 1.3 ms (kept-alive p50,
 * lab). A budget of 4096 instead of 67584 optimizes it within the first
 * hundred or so requests; the per-chunk code of a large upload is hot either
 * way. Node 22 and later tier up through Maglev after a few hundred calls and
 * have no such flag (lower counts there measured no faster). Set before the
 * bridge's modules load, so their functions get it.
 */
export function optimizeSooner(): void {
  if (Number(process.versions.v8.split('.')[0]) < 12) setFlagsFromString('--interrupt-budget=4096');
}
