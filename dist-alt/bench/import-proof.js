/**
 * `npm run build && node dist/bench/import-proof.js`: what proving a
 * length-less gzip import whole costs the bridge. The same gzip (default
 * 256 MiB compressed, a tar-like mix of incompressible and text blocks) is
 * imported from a local source with a Content-Length (not inflated) and with
 * none (HTTP/1.0, inflated to its trailer); the bridge's CPU seconds and
 * peak RSS are read from /proc. The bridge and the upstream (discard mode)
 * run as their own processes.
 *
 * Options: --size-mib=N (compressed size, default 256), --runs=N (default 3).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { request } from 'undici';
import { tarHeader } from '../test/tar-gz.js';
import { MIB } from './payload.js';
import { cpuSeconds, peakRss, resetPeak, startBridge, startUpstream } from './processes.js';
import { median, round, table } from './stats.js';
const args = new Map(process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? 'true'];
}));
const SIZE = Number(args.get('size-mib') ?? 256) * MIB;
const RUNS = Number(args.get('runs') ?? 3);
const FILE = 'bench-results/import-proof.tar.gz';
/** Half random, half varied source-like text, per MiB: compresses to about 60 %, like a tar of code and assets. */
async function writeArchive() {
    mkdirSync('bench-results', { recursive: true });
    const gzip = createGzip();
    let raw = 0;
    const out = createWriteStream(FILE);
    const done = pipeline(gzip, out);
    // The bridge opens the upstream call only for a gzip whose first block is a tar header.
    gzip.write(tarHeader('bench.bin', 2 * SIZE));
    for (let i = 0; out.bytesWritten + gzip.writableLength < SIZE; i++) {
        const text = Buffer.from(Array.from({ length: 9000 }, (_, n) => `export const value${i}_${n} = compute(${(i * 7919 + n) % 10007});\n`).join('').slice(0, 512 * 1024));
        for (const block of [randomBytes(512 * 1024), text]) {
            raw += block.length;
            if (!gzip.write(block))
                await once(gzip, 'drain');
        }
    }
    gzip.end();
    await done;
    return { compressed: statSync(FILE).size, raw };
}
async function startSource() {
    const size = statSync(FILE).size;
    const server = createServer((socket) => {
        socket.on('error', () => { });
        socket.once('data', (head) => {
            const withLength = head.toString('latin1').startsWith('GET /length');
            socket.write(withLength ? `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n` : 'HTTP/1.0 200 OK\r\n\r\n');
            createReadStream(FILE).pipe(socket);
        });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    server.unref();
    return `http://127.0.0.1:${server.address().port}`;
}
const { compressed, raw } = await writeArchive();
const origin = await startSource();
const upstream = await startUpstream();
const bridge = await startBridge(upstream.target, [], { IMPORT_ALLOW_HTTP: 'true', IMPORT_ALLOW_PRIVATE_ADDRESSES: 'true' });
const results = {};
try {
    for (let run = 0; run < RUNS; run++) {
        for (const mode of ['length', 'no-length']) {
            resetPeak(bridge.child.pid);
            const cpu0 = cpuSeconds(bridge.child.pid);
            const started = process.hrtime.bigint();
            const res = await request(`${bridge.url}/v1/ignite/contexts:import`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ url: `${origin}/${mode}/ctx.tar.gz`, name: 'bench.tar.gz' }),
            });
            const body = await res.body.text();
            if (res.statusCode !== 200)
                throw new Error(`${mode}: ${res.statusCode} ${body}`);
            const entry = (results[mode] ??= { seconds: [], cpu: [], rss: [] });
            entry.seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
            entry.cpu.push(cpuSeconds(bridge.child.pid) - cpu0);
            entry.rss.push(peakRss(bridge.child.pid));
        }
    }
}
finally {
    await bridge.child.stop();
    await upstream.child.stop();
}
console.log(`gzip: ${round(compressed / MIB, 1)} MiB compressed, ${round(raw / MIB, 1)} MiB inflated; median of ${RUNS} runs`);
console.log(table(['source', 'wall s', 'bridge CPU s', 'peak RSS MiB'], Object.entries(results).map(([mode, r]) => [
    mode === 'length' ? 'Content-Length (no proof)' : 'no length (inflated)',
    round(median(r.seconds)),
    round(median(r.cpu)),
    round(median(r.rss) / MIB, 1),
])));
//# sourceMappingURL=import-proof.js.map