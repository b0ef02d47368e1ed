/**
 * `npm run bench`: the bridge against the direct-gRPC ceiling, on this machine.
 *
 * The reference upstream (discard mode: bytes are counted and hashed, never
 * written) and the bridge run as their own processes, so the bridge's memory
 * and CPU are read from /proc/<pid>. The HTTP and direct gRPC clients run in
 * this process. Contenders are interleaved and medians reported, because the
 * machine may be shared; CPU seconds per GiB is the steadier figure.
 *
 * Options: --runs=N (1 GiB runs per contender, default 3), --size-mib=N
 * (default 1024), --only=throughput,memory,concurrency,concurrency256,latency,serializer,
 * --profile (bridge under --cpu-prof, profiles in bench-results/profiles),
 * --upstream-window=BYTES (the reference upstream's HTTP/2 receive window,
 * default 4 MiB; 0 keeps grpc-js's 64 KiB), --out=FILE (default
 * bench-results/latest.json).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { DirectClient } from './direct-upload.js';
import { agent, httpUpload } from './http-uploads.js';
import { CHUNK, GIB, KIB, MIB, smallArchive } from './payload.js';
import { cpuSeconds, peakRss, resetPeak, rss, sampleRss, startBridge, startUpstream } from './processes.js';
import { median, percentile, round, table } from './stats.js';
const args = new Map(process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? 'true'];
}));
const RUNS = Number(args.get('runs') ?? 3);
const BIG = Number(args.get('size-mib') ?? 1024) * MIB;
const SECTIONS = new Set((args.get('only') ?? 'throughput,memory,concurrency,concurrency256,latency,serializer,window').split(','));
/**
 * A grpc-js server keeps Node's 64 KiB HTTP/2 windows, so every sender gets
 * 64 KiB per round trip; grpc-go grows its window (BDP) up to 16 MiB. The
 * reference upstream is given a 4 MiB window by default; the window section
 * shows both.
 */
const UPSTREAM_WINDOW = Number(args.get('upstream-window') ?? 4 * MIB);
const upstreamEnv = (window) => (window > 0 ? { REFERENCE_HTTP2_WINDOW_BYTES: String(window) } : {});
const PROFILE = args.has('profile');
const OUT = args.get('out') ?? 'bench-results/latest.json';
const CONCURRENT = 64;
const CONCURRENT_SIZE = 8 * MIB;
const CONCURRENT_ROUNDS = 2;
/** The many-clients round: its own bridge with MAX_CONCURRENT_UPLOADS raised to match. */
const MANY = 256;
const MANY_ROUNDS = 2;
const SMALL = smallArchive(KIB);
const SEQUENTIAL_UPLOADS = 200;
const PARALLEL = 32;
const PARALLEL_UPLOADS = 640;
const mb = (bytes) => bytes / 1e6;
const mib = (bytes) => round(bytes / MIB, 1);
const now = () => performance.now();
const log = (line) => process.stderr.write(`${line}\n`);
const profileArgs = PROFILE ? ['--cpu-prof', '--cpu-prof-dir=bench-results/profiles'] : [];
async function startStack() {
    const { child: upstream, target } = await startUpstream(upstreamEnv(UPSTREAM_WINDOW));
    try {
        const { child: bridge, url } = await startBridge(target, profileArgs);
        return { upstream, target, bridge, url, direct: new DirectClient(target) };
    }
    catch (err) {
        await upstream.stop();
        throw err;
    }
}
/** Runs `work` and reads what it cost each process. */
async function measure(stack, work) {
    const peakResettable = resetPeak(stack.bridge.pid);
    const sampled = sampleRss(stack.bridge.pid);
    const before = { bridge: cpuSeconds(stack.bridge.pid), upstream: cpuSeconds(stack.upstream.pid), client: process.cpuUsage() };
    const start = now();
    await work();
    const seconds = (now() - start) / 1000;
    const client = process.cpuUsage(before.client);
    const bridgeSampledRss = sampled();
    return {
        seconds,
        bridgeCpu: cpuSeconds(stack.bridge.pid) - before.bridge,
        upstreamCpu: cpuSeconds(stack.upstream.pid) - before.upstream,
        clientCpu: (client.user + client.system) / 1e6,
        bridgePeakRss: peakResettable ? peakRss(stack.bridge.pid) : bridgeSampledRss,
        bridgeSampledRss,
    };
}
async function upload(stack, contender, size) {
    if (contender === 'direct')
        return stack.direct.upload(size);
    const result = await httpUpload(stack.url, contender, size);
    if (!result.ok)
        throw new Error(`${contender} upload failed: ${result.status} ${result.error}`);
}
const perGib = (cpu, bytes) => round(cpu / (bytes / GIB), 3);
async function throughput(stack) {
    const contenders = ['direct', 'raw', 'chunked', 'multipart', 'resumable'];
    const runs = new Map(contenders.map((c) => [c, []]));
    for (let run = 0; run < RUNS; run++) {
        // Rotate the order so no contender always runs first (or right after the slowest one).
        const order = contenders.map((_, i) => contenders[(i + run) % contenders.length]);
        for (const contender of order) {
            const m = await measure(stack, () => upload(stack, contender, BIG));
            runs.get(contender).push(m);
            log(`  run ${run + 1}/${RUNS} ${contender.padEnd(9)} ${round(mb(BIG) / m.seconds, 1)} MB/s, bridge ${round(m.bridgeCpu, 2)} CPU s, peak RSS ${mib(m.bridgePeakRss)} MiB`);
        }
    }
    const directMBps = median(runs.get('direct').map((m) => mb(BIG) / m.seconds));
    return contenders.map((contender) => {
        const ms = runs.get(contender);
        const mbps = median(ms.map((m) => mb(BIG) / m.seconds));
        return {
            contender,
            runs: ms.length,
            mbPerSecond: round(mbps, 1),
            mbPerSecondRuns: ms.map((m) => round(mb(BIG) / m.seconds, 1)),
            ratioToDirect: round(mbps / directMBps, 3),
            bridgeCpuSecondsPerGib: contender === 'direct' ? null : perGib(median(ms.map((m) => m.bridgeCpu)), BIG),
            clientCpuSecondsPerGib: perGib(median(ms.map((m) => m.clientCpu)), BIG),
            upstreamCpuSecondsPerGib: perGib(median(ms.map((m) => m.upstreamCpu)), BIG),
            bridgePeakRssMib: contender === 'direct' ? null : mib(median(ms.map((m) => m.bridgePeakRss))),
        };
    });
}
/**
 * Peak RSS of one upload, two ways: (a) a fresh bridge process per upload
 * (VmHWM after one 1 KiB warm-up, then after the upload: start-up plus this
 * upload and nothing else); (b) the long-running bridge, VmHWM reset through
 * /proc/<pid>/clear_refs right before each upload.
 */
async function memory(stack) {
    const sizes = [64 * MIB, BIG];
    const fresh = [];
    // The resumable upload last: its peak is read after the raw rows' (no warm row for it).
    for (const [mode, size] of [...sizes.map((s) => ['raw', s]), ['resumable', BIG]]) {
        const { child, url } = await startBridge(stack.target);
        try {
            const warm = await httpUpload(url, 'raw', KIB, SMALL);
            if (!warm.ok)
                throw new Error(`warm-up failed: ${warm.error}`);
            const idle = peakRss(child.pid);
            const result = await httpUpload(url, mode, size);
            if (!result.ok)
                throw new Error(`memory upload failed: ${result.error}`);
            fresh.push({ mode, sizeMib: mib(size), idleRssMib: mib(idle), peakRssMib: mib(peakRss(child.pid)) });
            log(`  fresh bridge, ${mib(size)} MiB ${mode}: peak RSS ${mib(peakRss(child.pid))} MiB (idle ${mib(idle)} MiB)`);
        }
        finally {
            await child.stop();
        }
    }
    const warm = [];
    for (const size of sizes) {
        const peaks = [];
        for (let run = 0; run < (size === BIG ? 1 : RUNS); run++) {
            peaks.push((await measure(stack, () => upload(stack, 'raw', size))).bridgePeakRss);
        }
        warm.push({ sizeMib: mib(size), peakRssMib: mib(median(peaks)) });
    }
    return { fresh, warm, rssNowMib: mib(rss(stack.bridge.pid)) };
}
async function concurrency(stack) {
    const rounds = [];
    for (let r = 0; r < CONCURRENT_ROUNDS; r++) {
        let errors = 0;
        let firstError;
        const m = await measure(stack, async () => {
            await Promise.all(Array.from({ length: CONCURRENT }, async () => {
                const result = await httpUpload(stack.url, 'raw', CONCURRENT_SIZE);
                if (!result.ok) {
                    errors++;
                    firstError ??= `${result.status} ${result.error}`;
                }
            }));
        });
        const total = CONCURRENT * CONCURRENT_SIZE;
        rounds.push({
            errors,
            mbPerSecond: round(mb(total) / m.seconds, 1),
            peakRssMib: mib(m.bridgePeakRss),
            bridgeCpuSecondsPerGib: perGib(m.bridgeCpu, total),
            ...(firstError ? { firstError } : {}),
        });
        log(`  round ${r + 1}: ${errors} errors, ${round(mb(total) / m.seconds, 1)} MB/s, peak RSS ${mib(m.bridgePeakRss)} MiB`);
    }
    return {
        uploads: CONCURRENT,
        sizeMib: mib(CONCURRENT_SIZE),
        rounds: rounds.length,
        errors: rounds.reduce((sum, r) => sum + r.errors, 0),
        mbPerSecond: round(median(rounds.map((r) => r.mbPerSecond)), 1),
        peakRssMib: Math.max(...rounds.map((r) => r.peakRssMib)),
        bridgeCpuSecondsPerGib: round(median(rounds.map((r) => r.bridgeCpuSecondsPerGib)), 3),
        firstError: rounds.find((r) => r.firstError)?.firstError,
    };
}
/**
 * MANY concurrent 8 MiB uploads into a fresh bridge started with
 * MAX_CONCURRENT_UPLOADS=MANY: every upload must succeed (no 503, no reset),
 * and the bridge's peak RSS stays bounded by a few chunks per upload.
 */
async function concurrencyMany(stack) {
    const { child, url } = await startBridge(stack.target, [], { MAX_CONCURRENT_UPLOADS: String(MANY) });
    const many = { ...stack, bridge: child, url };
    try {
        const warm = await httpUpload(url, 'raw', KIB, SMALL);
        if (!warm.ok)
            throw new Error(`warm-up failed: ${warm.error}`);
        const idle = rss(child.pid);
        const rounds = [];
        for (let r = 0; r < MANY_ROUNDS; r++) {
            let errors = 0;
            let firstError;
            const m = await measure(many, async () => {
                await Promise.all(Array.from({ length: MANY }, async () => {
                    const result = await httpUpload(url, 'raw', CONCURRENT_SIZE);
                    if (!result.ok) {
                        errors++;
                        firstError ??= `${result.status} ${result.error}`;
                    }
                }));
            });
            const total = MANY * CONCURRENT_SIZE;
            rounds.push({ errors, mbPerSecond: round(mb(total) / m.seconds, 1), bridgeCpuSecondsPerGib: perGib(m.bridgeCpu, total), ...(firstError ? { firstError } : {}) });
            log(`  round ${r + 1}: ${errors} errors, ${round(mb(total) / m.seconds, 1)} MB/s`);
        }
        return {
            uploads: MANY,
            sizeMib: mib(CONCURRENT_SIZE),
            maxConcurrentUploads: MANY,
            rounds: rounds.length,
            errors: rounds.reduce((sum, r) => sum + r.errors, 0),
            mbPerSecond: round(median(rounds.map((r) => r.mbPerSecond)), 1),
            bridgeCpuSecondsPerGib: round(median(rounds.map((r) => r.bridgeCpuSecondsPerGib)), 3),
            idleRssMib: mib(idle),
            peakRssMib: mib(peakRss(child.pid)),
            firstError: rounds.find((r) => r.firstError)?.firstError,
        };
    }
    finally {
        await child.stop();
    }
}
async function timed(work) {
    const start = now();
    await work();
    return now() - start;
}
async function latency(stack) {
    const bridgeOnce = async () => {
        const result = await httpUpload(stack.url, 'raw', KIB, SMALL);
        if (!result.ok)
            throw new Error(`1 KiB upload failed: ${result.status} ${result.error}`);
    };
    const bridgeNewConnection = async () => {
        const result = await httpUpload(stack.url, 'raw', KIB, SMALL, true);
        if (!result.ok)
            throw new Error(`1 KiB upload failed: ${result.status} ${result.error}`);
    };
    const directOnce = () => stack.direct.upload(KIB, 'hand-written', SMALL);
    for (let i = 0; i < 30; i++) {
        await bridgeOnce();
        await directOnce();
    }
    // One client, one request at a time: over a kept-alive connection, and over a new connection per request.
    const keptAlive = { bridge: [], direct: [] };
    const newConnection = { bridge: [], direct: [] };
    for (let i = 0; i < SEQUENTIAL_UPLOADS; i++) {
        // Alternate, so all see the same background load.
        keptAlive.bridge.push(await timed(bridgeOnce));
        newConnection.bridge.push(await timed(bridgeNewConnection));
        const direct = await timed(directOnce);
        keptAlive.direct.push(direct);
        newConnection.direct.push(direct);
    }
    const parallel = { bridge: [], direct: [] };
    const block = async (once, into, count) => {
        let left = count;
        await Promise.all(Array.from({ length: PARALLEL }, async () => {
            while (left-- > 0)
                into.push(await timed(once));
        }));
    };
    for (let i = 0; i < 4; i++) {
        await block(bridgeOnce, parallel.bridge, PARALLEL_UPLOADS / 4);
        await block(directOnce, parallel.direct, PARALLEL_UPLOADS / 4);
    }
    const summary = (ms) => ({ uploads: ms.length, p50Ms: round(percentile(ms, 50), 2), p99Ms: round(percentile(ms, 99), 2) });
    return {
        keptAlive: { bridge: summary(keptAlive.bridge), direct: summary(keptAlive.direct) },
        newConnection: { bridge: summary(newConnection.bridge), direct: summary(newConnection.direct) },
        [`concurrent${PARALLEL}`]: { bridge: summary(parallel.bridge), direct: summary(parallel.direct) },
    };
}
/** The bridge's hand-written chunk serializer against proto-loader's (protobufjs), in the direct client. */
async function serializer(stack) {
    const size = Math.min(BIG, 256 * MIB);
    const results = { 'hand-written': [], protobufjs: [] };
    for (let run = 0; run < RUNS; run++) {
        for (const s of ['protobufjs', 'hand-written']) {
            results[s].push(await measure(stack, () => stack.direct.upload(size, s)));
        }
    }
    return Object.entries(results).map(([name, ms]) => ({
        serializer: name,
        sizeMib: mib(size),
        mbPerSecond: round(median(ms.map((m) => mb(size) / m.seconds)), 1),
        clientCpuSecondsPerGib: perGib(median(ms.map((m) => m.clientCpu)), size),
    }));
}
/** Direct and bridge (raw) against a reference upstream with grpc-js's default window and with UPSTREAM_WINDOW. */
async function windows(stack) {
    const size = Math.min(BIG, 256 * MIB);
    const { child: upstream, target } = await startUpstream(upstreamEnv(0));
    const { child: bridge, url } = await startBridge(target);
    const small = { upstream, target, bridge, url, direct: new DirectClient(target) };
    try {
        await small.direct.upload(8 * MIB);
        await upload(small, 'raw', 8 * MIB);
        const setups = [{ window: 'grpc-js default (64 KiB)', stack: small }, { window: `${mib(UPSTREAM_WINDOW)} MiB`, stack }];
        const runs = new Map();
        for (let run = 0; run < 2; run++) {
            for (const setup of run % 2 ? [...setups].reverse() : setups) {
                for (const contender of ['direct', 'raw']) {
                    const key = `${setup.window}|${contender}`;
                    runs.set(key, [...(runs.get(key) ?? []), await measure(setup.stack, () => upload(setup.stack, contender, size))]);
                }
            }
        }
        return [...runs.entries()].map(([key, ms]) => {
            const [window, contender] = key.split('|');
            return {
                upstreamWindow: window,
                contender,
                sizeMib: mib(size),
                mbPerSecond: round(median(ms.map((m) => mb(size) / m.seconds)), 1),
                bridgeCpuSecondsPerGib: contender === 'direct' ? null : perGib(median(ms.map((m) => m.bridgeCpu)), size),
                clientCpuSecondsPerGib: perGib(median(ms.map((m) => m.clientCpu)), size),
                upstreamCpuSecondsPerGib: perGib(median(ms.map((m) => m.upstreamCpu)), size),
            };
        });
    }
    finally {
        small.direct.close();
        await bridge.stop();
        await upstream.stop();
    }
}
function machine() {
    const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
    return { nproc: cpus().length, cpu: model, node: process.version, loadavgAtStart: loadavg().map((l) => round(l, 2)) };
}
async function main() {
    const started = now();
    const results = {
        machine: machine(),
        date: new Date().toISOString(),
        settings: { runs: RUNS, bigMib: mib(BIG), chunkBytes: CHUNK, httpPieceBytes: 64 * KIB, upstreamHttp2WindowBytes: UPSTREAM_WINDOW || 'grpc-js default', profile: PROFILE },
    };
    log(`machine: ${JSON.stringify(results['machine'])}`);
    const stack = await startStack();
    try {
        await stack.direct.upload(8 * MIB); // connect and warm both paths up
        await upload(stack, 'raw', 8 * MIB);
        if (SECTIONS.has('throughput')) {
            log(`throughput, ${mib(BIG)} MiB x ${RUNS} runs per contender:`);
            results['throughput'] = await throughput(stack);
        }
        if (SECTIONS.has('memory')) {
            log('memory:');
            results['memory'] = await memory(stack);
        }
        if (SECTIONS.has('concurrency')) {
            log(`${CONCURRENT} concurrent uploads of ${mib(CONCURRENT_SIZE)} MiB:`);
            results['concurrency'] = await concurrency(stack);
        }
        if (SECTIONS.has('concurrency256')) {
            log(`${MANY} concurrent uploads of ${mib(CONCURRENT_SIZE)} MiB, MAX_CONCURRENT_UPLOADS=${MANY}:`);
            results['concurrency256'] = await concurrencyMany(stack);
        }
        if (SECTIONS.has('latency')) {
            log('latency of 1 KiB uploads:');
            results['latency'] = await latency(stack);
        }
        if (SECTIONS.has('window')) {
            log('upstream HTTP/2 window:');
            results['window'] = await windows(stack);
        }
        if (SECTIONS.has('serializer')) {
            log('chunk serializer, direct client:');
            results['serializer'] = await serializer(stack);
        }
    }
    finally {
        stack.direct.close();
        await agent.close();
        await stack.bridge.stop();
        await stack.upstream.stop();
    }
    results['seconds'] = round((now() - started) / 1000, 1);
    results['machine']['loadavgAtEnd'] = loadavg().map((l) => round(l, 2));
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${report(results)}\n\nwritten to ${OUT} in ${results['seconds']} s\n`);
}
function report(results) {
    const out = [];
    const m = results['machine'];
    out.push(`machine: ${m['nproc']} cores, ${m['cpu']}, Node ${m['node']}, load ${String(m['loadavgAtStart'])} → ${String(m['loadavgAtEnd'])}`);
    const tp = results['throughput'];
    if (tp) {
        const window = results['settings']['upstreamHttp2WindowBytes'];
        out.push('', `Throughput, ${results['settings']['bigMib']} MiB archive, median of ${RUNS} interleaved runs; reference upstream (discarding) with HTTP/2 window ${typeof window === 'number' ? `${mib(window)} MiB` : window} (MB = 10^6 bytes; CPU s per GiB from /proc/<pid>/stat):`);
        out.push(table(['contender', 'MB/s', 'x direct', 'bridge CPU s/GiB', 'client CPU s/GiB', 'upstream CPU s/GiB', 'bridge peak RSS MiB'], tp.map((r) => [r['contender'] === 'direct' ? 'direct gRPC (ceiling)' : `bridge ${r['contender']}`, r['mbPerSecond'], r['ratioToDirect'],
            r['bridgeCpuSecondsPerGib'] ?? '-', r['clientCpuSecondsPerGib'], r['upstreamCpuSecondsPerGib'], r['bridgePeakRssMib'] ?? '-'])));
    }
    const mem = results['memory'];
    if (mem) {
        out.push('', 'Bridge peak RSS (VmHWM) of one upload: fresh process = start-up + 1 KiB warm-up + this upload; warm process (raw only) = VmHWM reset via /proc/<pid>/clear_refs before the upload:');
        out.push(table(['archive', 'fresh: idle MiB', 'fresh: peak MiB', 'warm: peak MiB'], mem.fresh.map((f, i) => [`${f['sizeMib']} MiB ${f['mode']}`, f['idleRssMib'], f['peakRssMib'], mem.warm[i]?.['peakRssMib'] ?? '-'])));
    }
    const c = results['concurrency'];
    if (c) {
        out.push('', `${c['uploads']} concurrent raw uploads of ${c['sizeMib']} MiB, ${c['rounds']} rounds: errors ${c['errors']}, ${c['mbPerSecond']} MB/s aggregate (median), bridge peak RSS ${c['peakRssMib']} MiB, bridge CPU ${c['bridgeCpuSecondsPerGib']} s/GiB${c['firstError'] ? `, first error: ${c['firstError']}` : ''}`);
    }
    const many = results['concurrency256'];
    if (many) {
        out.push('', `${many['uploads']} concurrent raw uploads of ${many['sizeMib']} MiB into a bridge with MAX_CONCURRENT_UPLOADS=${many['maxConcurrentUploads']}, ${many['rounds']} rounds: errors ${many['errors']}, ${many['mbPerSecond']} MB/s aggregate (median), bridge idle ${many['idleRssMib']} MiB, peak RSS ${many['peakRssMib']} MiB, CPU ${many['bridgeCpuSecondsPerGib']} s/GiB${many['firstError'] ? `, first error: ${many['firstError']}` : ''}`);
    }
    const lat = results['latency'];
    if (lat) {
        out.push('', 'Latency of a 1 KiB upload (ms; one client, one request at a time except the concurrent row; direct gRPC always reuses its channel):');
        out.push(table(['mode', 'bridge p50', 'direct p50', 'bridge p99', 'direct p99'], Object.entries(lat).map(([mode, r]) => [`${mode} (${r.bridge['uploads']} each)`, r.bridge['p50Ms'], r.direct['p50Ms'], r.bridge['p99Ms'], r.direct['p99Ms']])));
    }
    const win = results['window'];
    if (win) {
        out.push('', `Reference upstream's HTTP/2 receive window (${win[0]?.['sizeMib']} MiB, median of 2):`);
        out.push(table(['upstream window', 'contender', 'MB/s', 'bridge CPU s/GiB', 'client CPU s/GiB', 'upstream CPU s/GiB'], win.map((r) => [r['upstreamWindow'], r['contender'] === 'direct' ? 'direct gRPC' : 'bridge raw', r['mbPerSecond'],
            r['bridgeCpuSecondsPerGib'] ?? '-', r['clientCpuSecondsPerGib'], r['upstreamCpuSecondsPerGib']])));
    }
    const ser = results['serializer'];
    if (ser) {
        out.push('', `Chunk serializer in the direct client (${ser[0]?.['sizeMib']} MiB, median of ${RUNS}):`);
        out.push(table(['serializer', 'MB/s', 'client CPU s/GiB'], ser.map((r) => [r['serializer'], r['mbPerSecond'], r['clientCpuSecondsPerGib']])));
    }
    return out.join('\n');
}
await main();
//# sourceMappingURL=run.js.map