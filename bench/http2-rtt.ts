/**
 * `npm run bench:http2`: the bridge on HTTP/2 (h2c, curl --http2-prior-knowledge) against itself on
 * HTTP/1.1 (curl --http1.1), through a loopback proxy that holds client → bridge bytes for
 * --rtt-ms (default 40: the round trip flow control waits for). Paired runs, interleaved;
 * medians of throughput, the bridge's CPU seconds per GiB, and 1 KiB upload latency.
 *
 * The proxy bounds what each connection has in flight over the delayed path, as a TCP window
 * does (--path-window-mib, default 6: Linux's default tcp_rmem maximum), so both protocols are
 * held to the same path; 0 leaves it unbounded, where HTTP/1.1 is never held back by the round
 * trip while HTTP/2 still waits for the bridge's WINDOW_UPDATEs. Options: --runs=N (default 3),
 * --size-mib=N (default 256), --rtt-ms=N, --path-window-mib=N.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../src/http/listener.js';
import { DelayProxy } from '../test/delay-proxy.js';
import { archiveChunks, GIB, KIB, MIB, smallArchive } from './payload.js';
import { cpuSeconds, startBridge, startUpstream } from './processes.js';
import { median, percentile, round, table } from './stats.js';

const args = new Map(process.argv.slice(2).map((arg) => {
  const [key, value] = arg.replace(/^--/, '').split('=');
  return [key!, value ?? 'true'] as const;
}));
const RUNS = Number(args.get('runs') ?? 3);
const SIZE = Number(args.get('size-mib') ?? 256) * MIB;
const RTT_MS = Number(args.get('rtt-ms') ?? 40);
const PATH_WINDOW = Number(args.get('path-window-mib') ?? 6) * MIB;
const SMALL_UPLOADS = 30;
const MODES = { 'HTTP/1.1': '--http1.1', 'HTTP/2 (h2c)': '--http2-prior-knowledge' } as const;
type Mode = keyof typeof MODES;

function curlUpload(flag: string, url: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('curl', ['-sS', '-f', '-o', '/dev/null', flag, '-T', file, url], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`curl ${flag} exited ${code}`))));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'bench-h2-'));
const big = join(dir, 'big.tar.gz');
writeFileSync(big, Buffer.concat([...archiveChunks(SIZE)]));
const small = join(dir, 'small.tar.gz');
writeFileSync(small, smallArchive(KIB));

const upstream = await startUpstream({ REFERENCE_DISCARD: 'true', REFERENCE_HTTP2_WINDOW_BYTES: String(4 * MIB) });
const bridge = await startBridge(upstream.target);
const proxy = await DelayProxy.start(Number(new URL(bridge.url).port));
proxy.delayMs = RTT_MS;
if (PATH_WINDOW > 0) proxy.maxInFlightBytes = PATH_WINDOW;
const base = `http://127.0.0.1:${proxy.port}/v1/ignite/contexts`;
const results: Record<Mode, { mbps: number[]; cpuPerGib: number[]; latency: number[] }> = {
  'HTTP/1.1': { mbps: [], cpuPerGib: [], latency: [] },
  'HTTP/2 (h2c)': { mbps: [], cpuPerGib: [], latency: [] },
};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const cpu = cpuSeconds(bridge.child.pid);
      const ms = await curlUpload(MODES[mode], `${base}/big-${run}.tar.gz`, big);
      results[mode].cpuPerGib.push((cpuSeconds(bridge.child.pid) - cpu) / (SIZE / GIB));
      results[mode].mbps.push(SIZE / 1e6 / (ms / 1000));
      for (let i = 0; i < SMALL_UPLOADS / RUNS; i++) results[mode].latency.push(await curlUpload(MODES[mode], `${base}/small.tar.gz`, small));
      process.stderr.write(`run ${run + 1} ${mode}: ${round(results[mode].mbps.at(-1)!, 1)} MB/s\n`);
    }
  }
  const rows = (Object.keys(MODES) as Mode[]).map((mode) => {
    const r = results[mode];
    return [mode, round(median(r.mbps), 1), round(median(r.cpuPerGib), 2), round(median(r.latency), 1), round(percentile(r.latency, 95), 1)];
  });
  const path = PATH_WINDOW > 0 ? `at most ${PATH_WINDOW / MIB} MiB in flight per connection` : 'unbounded in flight';
  console.log(`${SIZE / MIB} MiB uploads through a proxy adding ${RTT_MS} ms RTT (${path}), ${RUNS} paired runs (medians); bridge windows: ${STREAM_WINDOW_BYTES / MIB} MiB per stream, ${CONNECTION_WINDOW_BYTES / MIB} MiB per connection`);
  console.log(table(['client', 'MB/s', 'bridge CPU s/GiB', '1 KiB p50 ms', '1 KiB p95 ms'], rows));
  const ratio = median(results['HTTP/2 (h2c)'].mbps) / median(results['HTTP/1.1'].mbps);
  console.log(`HTTP/2 / HTTP/1.1 throughput: ${round(ratio, 2)}x`);
} finally {
  await proxy.close();
  await bridge.child.stop();
  await upstream.child.stop();
  rmSync(dir, { recursive: true, force: true });
}
