/**
 * `npm run bench:page-memory`: what the upload page holds while it packs a folder into a tar.gz
 * and uploads it. For each size in FOLDER_MEMORY_MIB (MiB, comma-separated, default 100,1024), a
 * folder of that many 1 MiB files of random bytes (nothing compresses) and a Dockerfile is chosen
 * in the page of a headless Chromium driven without DevTools' network buffer (raw-chromium.ts),
 * then packed and uploaded through a bridge to the reference upstream (both in this process, on
 * port 0; a fresh stack and browser per size).
 *
 * The renderer's memory comes from /proc: its RSS at idle (folder chosen, before Upload), then its
 * peak while the page packs and uploads: VmHWM (reset at idle, so it is that span's true peak) and
 * VmRSS sampled every 100 ms. What the upstream stored is checked before a figure is reported: one
 * call, the stored length, and every file's bytes as tar extracts them.
 *
 * Prints a table, then one JSON line with every figure.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack } from '../test/helpers.js';
import { MIB } from './payload.js';
import { peakRss, resetPeak, rss } from './processes.js';
import { openRawPage } from './raw-chromium.js';
import { round, table } from './stats.js';
import { teardown } from './teardown.js';
const run = promisify(execFile);
const SAMPLE_MS = 100;
const log = (line) => process.stderr.write(`${line}\n`);
function sizesFromEnv() {
    const value = process.env['FOLDER_MEMORY_MIB'] ?? '100,1024';
    const sizes = value.split(',').map((s) => Number(s.trim()));
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
        throw new Error(`FOLDER_MEMORY_MIB=${value}: give folder sizes in MiB as whole numbers, comma-separated (e.g. 100,1024)`);
    }
    return sizes;
}
/** A folder of `mib` files of 1 MiB of random bytes in 8 directories, and a Dockerfile; written one file at a time. */
async function randomFolder(t, mib) {
    const parent = await mkdtemp(join(tmpdir(), 'page-folder-memory-'));
    t.after(() => rm(parent, { recursive: true, force: true }));
    const root = join(parent, `mem-${mib}`);
    const files = ['Dockerfile'];
    await mkdir(root);
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    for (let i = 0; i < mib; i++) {
        const dir = `data/${i % 8}`;
        await mkdir(join(root, dir), { recursive: true });
        const path = `${dir}/blob-${String(i).padStart(4, '0')}.bin`;
        await writeFile(join(root, path), randomBytes(MIB));
        files.push(path);
    }
    return { root, files: files.sort() };
}
/** sha256 of what `tar` writes to stdout, without holding it. */
async function hashOfTarOutput(args) {
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const hash = createHash('sha256');
    const exited = new Promise((resolve) => child.once('close', resolve));
    for await (const chunk of child.stdout)
        hash.update(chunk);
    const code = await exited;
    if (code !== 0)
        throw new Error(`tar ${args.join(' ')} exited with ${code}`);
    return hash.digest('hex');
}
/** sha256 of the files' contents, one after another. */
async function hashOfFiles(root, files) {
    const hash = createHash('sha256');
    for (const file of files) {
        for await (const chunk of createReadStream(join(root, file)))
            hash.update(chunk);
    }
    return hash.digest('hex');
}
/** One stored call, of the stored length, holding exactly the folder's files with their bytes. Returns the stored size. */
async function checkStored(stack, contextId, folder) {
    const [call, ...more] = stack.observed;
    if (!call || more.length > 0)
        throw new Error(`the upstream saw ${stack.observed.length} calls, expected 1`);
    if (call.outcome !== 'stored' || call.contextId !== contextId)
        throw new Error(`the upstream's call: ${JSON.stringify(call)}`);
    const archive = stack.reference.store.path(contextId);
    const { size } = await stat(archive);
    if (call.bytes !== size)
        throw new Error(`the upstream received ${call.bytes} bytes and stored ${size}`);
    const { stdout } = await run('tar', ['-tzf', archive], { maxBuffer: 16 * MIB });
    const listed = stdout.split('\n').filter((entry) => entry && !entry.endsWith('/'));
    if (JSON.stringify(listed) !== JSON.stringify(folder.files)) {
        throw new Error(`the archive lists ${listed.length} files, not the folder's ${folder.files.length} in path order`);
    }
    // tar -O writes the files' contents in archive order, which the listing has just shown to be the folder's.
    const [extracted, written] = await Promise.all([hashOfTarOutput(['-xzOf', archive]), hashOfFiles(folder.root, folder.files)]);
    if (extracted !== written)
        throw new Error('the files extracted from the stored archive differ from the folder\'s');
    return size;
}
/** RSS of each of the given processes every SAMPLE_MS until stopped: their highest readings. */
function sampleEach(pids) {
    const highest = new Map(pids.map((pid) => [pid, rss(pid)]));
    const timer = setInterval(() => {
        for (const pid of pids) {
            try {
                highest.set(pid, Math.max(highest.get(pid), rss(pid)));
            }
            catch {
                // the process ended
            }
        }
    }, SAMPLE_MS);
    return () => {
        clearInterval(timer);
        return highest;
    };
}
async function packAndUpload(page) {
    await page.evaluate("document.getElementById('upload').click()");
    await page.waitFor("!document.getElementById('result').hidden || !document.getElementById('error').hidden", 30 * 60_000);
    const contextId = await page.evaluate("document.getElementById('context-id').textContent");
    if (!contextId)
        throw new Error(`the page did not upload: ${await page.evaluate("document.getElementById('error').textContent")}`);
    return contextId;
}
async function measure(mib) {
    const t = teardown();
    try {
        const stack = await startStack(t);
        const folder = await randomFolder(t, mib);
        const page = await openRawPage(t, `${stack.baseUrl}/`);
        await page.setInputFiles('#folder', [folder.root]);
        await page.waitFor("!document.getElementById('folder-summary').hidden", 5 * 60_000);
        const pids = await page.rendererPids();
        if (pids.length === 0)
            throw new Error('Chromium reports no renderer process');
        const idle = new Map(pids.map((pid) => [pid, rss(pid)]));
        const peakKnown = pids.every(resetPeak);
        const stopSampling = sampleEach(pids);
        const started = performance.now();
        let sampled;
        let contextId;
        try {
            contextId = await packAndUpload(page);
        }
        finally {
            sampled = stopSampling();
        }
        const seconds = (performance.now() - started) / 1000;
        const peaks = new Map(pids.map((pid) => [pid, peakKnown ? peakRss(pid) : sampled.get(pid)]));
        // The page's renderer is the one that grew most (the browser's initial blank tab has its own).
        const [renderer] = pids.sort((a, b) => (peaks.get(b) - idle.get(b)) - (peaks.get(a) - idle.get(a)));
        const storedBytes = await checkStored(stack, contextId, folder);
        const over = (bytes) => round((bytes - idle.get(renderer)) / MIB, 1);
        return {
            chromium: page.version,
            measured: {
                folderMiB: mib,
                files: folder.files.length,
                storedBytes,
                seconds: round(seconds, 1),
                idleMiB: round(idle.get(renderer) / MIB, 1),
                peakOverIdleMiB: peakKnown ? over(peaks.get(renderer)) : null,
                sampledPeakOverIdleMiB: over(sampled.get(renderer)),
            },
        };
    }
    finally {
        await t.run();
    }
}
const results = [];
let chromium = '';
for (const mib of sizesFromEnv()) {
    log(`packing and uploading a ${mib} MiB folder from the page…`);
    const { measured, chromium: version } = await measure(mib);
    chromium = version;
    results.push(measured);
}
console.log(`renderer RSS while the page packs and uploads a folder of random files (${chromium}, Node ${process.version})`);
console.log(table(['folder MiB', 'files', 'stored MiB', 'seconds', 'idle MiB', 'peak over idle MiB', `sampled every ${SAMPLE_MS} ms`], results.map((r) => [r.folderMiB, r.files, round(r.storedBytes / MIB, 1), r.seconds, r.idleMiB, r.peakOverIdleMiB ?? 'n/a', r.sampledPeakOverIdleMiB])));
console.log(JSON.stringify({ bench: 'page-folder-memory', date: new Date().toISOString(), chromium, node: process.version, results }));
//# sourceMappingURL=page-folder-memory.js.map