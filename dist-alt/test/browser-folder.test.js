import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { openPage, recordRequests, useChromium } from './browser.js';
import { sha256, startStack, storedBytes } from './helpers.js';
import { collectBuilds } from './reference-helpers.js';
import { TcpProxy } from './tcp-proxy.js';
const run = promisify(execFile);
const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 240_000 };
// The mtime every fixture file gets: the archive must carry the files' own times.
const MTIME = new Date('2024-05-06T07:08:09Z');
const LONG_NAME = `${'a-file-name-longer-than-a-ustar-header-holds-'.repeat(3)}.txt`;
// "A few thousand small files" (issue 21), in four directories of 750.
const SMALL_FILES = 3000;
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
/** Writes `tree` (path → content) under a new folder named `name`, every file with MTIME. */
async function folderOf(t, name, tree) {
    const parent = await mkdtemp(join(tmpdir(), 'browser-folder-'));
    t.after(() => rm(parent, { recursive: true, force: true }));
    const root = join(parent, name);
    for (const [path, content] of Object.entries(tree)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), content);
        await utimes(join(root, path), MTIME, MTIME);
    }
    return root;
}
/** The stored tar.gz extracted with the system's tar: file path → content hash, mode, mtime. */
async function extract(t, archive) {
    const dir = await mkdtemp(join(tmpdir(), 'browser-folder-out-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    await mkdir(join(dir, 'out'));
    await run('tar', ['-xzf', join(dir, 'ctx.tar.gz'), '-C', join(dir, 'out')]);
    const files = new Map();
    for (const entry of (await readdir(join(dir, 'out'), { recursive: true })).map(String)) {
        const info = await stat(join(dir, 'out', entry));
        if (info.isFile())
            files.set(entry, { sha: sha256(await readFile(join(dir, 'out', entry))), mode: info.mode & 0o777, mtime: info.mtimeMs });
    }
    return files;
}
/** The tree as the archive should hold it: path → content hash and mode. */
function expected(tree, keep) {
    const files = new Map();
    for (const [path, content] of Object.entries(tree).filter(([p]) => keep(p)).sort()) {
        const bytes = Buffer.from(content);
        files.set(path, { sha: sha256(bytes), mode: bytes.subarray(0, 2).toString() === '#!' ? 0o755 : 0o644 });
    }
    return files;
}
const withoutTimes = (files) => new Map([...files].map(([path, { sha, mode }]) => [path, { sha, mode }]));
async function chooseFolder(page, root) {
    await page.locator('#folder').setInputFiles(root);
    await page.locator('#folder-summary').waitFor({ state: 'visible' });
    return (await page.locator('#folder-summary').textContent());
}
async function storedContext(page, stack) {
    await page.locator('#result').waitFor({ state: 'visible', timeout: 180_000 });
    const contextId = (await page.locator('#context-id').textContent());
    return { contextId, bytes: await storedBytes(stack, contextId) };
}
/** Random (incompressible) files: `count` of `size` bytes in a few directories. */
function randomTree(count, size) {
    const tree = { Dockerfile: 'FROM scratch\nCOPY . /\n' };
    for (let i = 0; i < count; i++)
        tree[`data/${i % 8}/blob-${String(i).padStart(4, '0')}.bin`] = randomBytes(size);
    return tree;
}
describe('the upload page packs a folder as tar.gz while it uploads (headless Chromium)', () => {
    const browser = useChromium();
    test('a chosen folder: .dockerignore honoured (Dockerfile and .dockerignore always sent), long names, #! scripts 0755, mtimes kept', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const many = {};
        for (let i = 0; i < 150; i++)
            many[`many/file-${String(i).padStart(3, '0')}.txt`] = `file ${i}\n`;
        const tree = {
            'Dockerfile': 'FROM scratch\nCOPY . /app\n',
            '.dockerignore': [
                '# comments are ignored',
                '/secrets',
                '**/*.log',
                'build/',
                '!build/keep.txt',
                'Dockerfile',
                '.dockerignore',
                'node_modules',
                '',
            ].join('\n'),
            'run.sh': '#!/bin/sh\necho hello\n',
            'tools/deploy': '#!/usr/bin/env node\nconsole.log(1)\n',
            'not-a-script.sh': '# starts with a hash only\n',
            'empty.txt': '',
            'src/main.js': 'console.log("main")\n',
            'src/lib/util.js': 'export const util = 1\n',
            'src/debug.log': 'ignored by **/*.log\n',
            'app.log': 'ignored by **/*.log\n',
            'secrets/key.pem': 'ignored: /secrets is anchored at the root\n',
            'src/secrets/kept.txt': 'kept: /secrets names the root one only\n',
            'build/out.bin': randomBytes(1000),
            'build/keep.txt': 'kept by !build/keep.txt\n',
            'node_modules/x/index.js': 'ignored\n',
            '.git/HEAD': 'ref: refs/heads/main\n',
            [`deep/${'nested/'.repeat(12)}${LONG_NAME}`]: 'a path of more than 100 bytes (PAX)\n',
            'data/random.bin': randomBytes(3 * MiB + 17),
            ...many,
        };
        const root = await folderOf(t, 'my-app', tree);
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        const summary = await chooseFolder(page, root);
        const ignored = (p) => /^secrets\/|\.log$|^build\/out\.bin$|^node_modules\//.test(p);
        const kept = expected(tree, (p) => !ignored(p));
        assert.match(summary, new RegExp(`^${kept.size} files \\(.+\\) to pack; 2 starting with #! packed executable \\(0755\\)\\. 5 files \\(.+\\) skipped by \\.dockerignore\\.$`));
        await page.getByRole('button', { name: 'Upload' }).click();
        const { contextId, bytes } = await storedContext(page, stack);
        assert.equal(await page.getByRole('status').textContent(), 'Upload complete.');
        const files = await extract(t, bytes);
        assert.deepEqual(withoutTimes(files), kept, 'exactly the kept files, their bytes and modes');
        for (const [path, { mtime }] of files)
            assert.equal(mtime, MTIME.getTime(), `${path} keeps its mtime`);
        // The archive's own order and headers, as tar lists them: sorted, relative, directories first.
        const listing = await listArchive(t, bytes);
        assert.deepEqual(listing, [...listing].sort(), 'entries in path order');
        assert.ok(listing.every((p) => !p.startsWith('/') && !p.startsWith('my-app/')), 'paths relative to the folder');
        assert.equal(stack.observed.length, 1, 'one upstream call');
        assert.equal(stack.observed[0].metadata?.name, 'my-app.tar.gz');
        assert.equal(stack.observed[0].contextId, contextId);
        assert.equal(requests.filter((r) => r.startsWith('POST')).length, 1);
        assert.deepEqual(problems, []);
    });
    test('without a .dockerignore, .git/ stays home; "Start a build" sends build and tags at creation', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const tree = {
            'Dockerfile': 'FROM scratch\n',
            '.git/HEAD': 'ref: refs/heads/main\n',
            '.git/objects/ab/cdef': randomBytes(500),
            '.github/workflow.yml': 'kept: only .git/ is left out\n',
            'src/.git-keep': 'kept\n',
        };
        const root = await folderOf(t, 'Web Site', tree);
        const { page } = await openPage(t, browser());
        const creations = [];
        page.on('request', (r) => {
            if (r.method() === 'POST' && r.url().endsWith('/v1/ignite/uploads'))
                creations.push(r.headers()['upload-metadata']);
        });
        await page.goto(`${stack.baseUrl}/`);
        const summary = await chooseFolder(page, root);
        assert.match(summary, /^3 files \(.+\) to pack\. 2 files \(.+\) skipped by the default rule \(\.git\/\)\.$/);
        await page.getByLabel('Start a build once it is stored').check();
        assert.equal(await page.getByLabel(/^Build name/).getAttribute('placeholder'), 'web-site');
        await page.getByLabel(/^Tags/).fill('latest, v2');
        await page.getByRole('button', { name: 'Upload' }).click();
        const { bytes } = await storedContext(page, stack);
        assert.deepEqual(withoutTimes(await extract(t, bytes)), expected(tree, (p) => !p.startsWith('.git/')));
        const metadata = new Map(creations[0].split(',').map((pair) => {
            const [key, value = ''] = pair.trim().split(' ');
            return [key, Buffer.from(value, 'base64').toString()];
        }));
        assert.deepEqual(Object.fromEntries(metadata), { filename: 'Web Site.tar.gz', build: 'web-site', tags: 'latest,v2' });
    });
    test('a few thousand small files and a path over 100 bytes extract to exactly those files and modes; "Start a build" starts one', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const tree = { 'Dockerfile': 'FROM scratch\nCOPY . /app\n', [`src/${'deeply/'.repeat(10)}${LONG_NAME}`]: 'a path of more than 100 bytes\n' };
        for (let i = 0; i < SMALL_FILES; i++) {
            const name = `${['src', 'assets/icons', 'docs/pages', 'lib/vendor/x'][i % 4]}/f${String(i).padStart(4, '0')}`;
            tree[i % 500 === 7 ? `${name}.sh` : `${name}.txt`] = i % 500 === 7 ? `#!/bin/sh\necho ${i}\n` : `${i}\n`;
        }
        const root = await folderOf(t, 'many-files', tree);
        const builds = collectBuilds(stack.reference.events);
        const { page, problems } = await openPage(t, browser());
        await page.goto(`${stack.baseUrl}/`);
        const started = Date.now();
        const summary = await chooseFolder(page, root);
        const kept = expected(tree, () => true);
        assert.equal(kept.size, SMALL_FILES + 2);
        assert.match(summary, new RegExp(`^${kept.size} files \\(.+\\) to pack; 6 starting with #! packed executable \\(0755\\)\\. Nothing skipped\\.$`));
        await page.getByLabel('Start a build once it is stored').check();
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        const { contextId, bytes } = await storedContext(page, stack);
        const seconds = (Date.now() - started) / 1000;
        const files = await extract(t, bytes);
        assert.deepEqual(withoutTimes(files), kept, 'exactly the files, their bytes and modes');
        assert.ok([...files.keys()].some((path) => Buffer.byteLength(path) > 100));
        assert.equal(stack.opened.length, 1, 'one upstream call');
        assert.deepEqual(builds.map((b) => [b.id, b.contextId, b.name, b.tags]), [[await page.locator('#build-id').textContent(), contextId, 'many-files', ['latest']]]);
        assert.deepEqual(problems, []);
        console.log(`${kept.size} files chosen, packed, uploaded and built in ${seconds.toFixed(1)} s`);
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'upload-folder.png'), fullPage: true });
    });
    test('a connection cut inside a chunk resumes in that chunk: one upload, one upstream call, nothing re-sent from 0', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const proxy = await TcpProxy.start(Number(new URL(stack.baseUrl).port));
        t.after(() => proxy.close());
        const tree = randomTree(24, MiB);
        const root = await folderOf(t, 'cut', tree);
        const { page } = await openPage(t, browser());
        const requests = recordRequests(page);
        const offsets = [];
        page.on('request', (r) => {
            if (r.method() === 'PATCH')
                offsets.push(Number(r.headers()['upload-offset']));
        });
        await page.goto(`${proxy.url}/`);
        await chooseFolder(page, root);
        // Half-way through the third 4 MiB chunk.
        proxy.cutWhenSent(proxy.sent + 10 * MiB);
        await page.getByRole('button', { name: 'Upload' }).click();
        const { bytes } = await storedContext(page, stack);
        assert.deepEqual(withoutTimes(await extract(t, bytes)), expected(tree, () => true));
        assert.ok(proxy.connections >= 2, 'the cut connection was replaced');
        assert.equal(requests.filter((r) => r.startsWith('POST')).length, 1, 'one upload created');
        assert.ok(requests.includes('HEAD /v1/ignite/uploads/:id'), requests.join());
        assert.equal(stack.opened.length, 1, 'one upstream call');
        assert.equal(stack.observed[0].bytes, bytes.length);
        // The resumed PATCH starts where the bridge stopped, inside the chunk that was cut (not at its start, not at 0).
        const resumed = offsets.find((o, i) => i > 0 && o < offsets[i - 1] + 4 * MiB && o % (4 * MiB) !== 0);
        assert.ok(resumed !== undefined && resumed > 8 * MiB && resumed < 12 * MiB, `PATCHes at ${offsets.join()}`);
        assert.equal(offsets.filter((o) => o === 0).length, 1, `PATCHes at ${offsets.join()}: only the first from 0`);
    });
    test('when the bridge lost the upload, the page says so and packs the folder again into a new upload', TIMEOUT, async (t) => {
        // Uploads expire after 1 s without progress; the upstream takes 64 KiB per 40 ms.
        const stack = await startStack(t, { reference: { faults: { chunkDelayMs: 40 } }, config: { chunkSizeBytes: 64 * 1024, resumableExpiryMs: 1000 } });
        const tree = randomTree(12, MiB);
        const root = await folderOf(t, 'lost', tree);
        const { page } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        await chooseFolder(page, root);
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.waitForFunction(() => document.getElementById('progress').value >= 20, undefined, { timeout: 60_000 });
        await page.getByRole('button', { name: 'Pause' }).click();
        // Absence of progress for longer than the expiry: the bridge cancels the call and forgets the upload.
        const [lost] = await Promise.all([stack.nextObservation(), page.getByRole('button', { name: 'Resume' }).waitFor()]);
        assert.equal(lost.outcome, 'cancelled');
        await page.getByRole('button', { name: 'Resume' }).click();
        await page.getByRole('status').filter({ hasText: 'packed again from the first file' }).waitFor();
        const { bytes } = await storedContext(page, stack);
        assert.deepEqual(withoutTimes(await extract(t, bytes)), expected(tree, () => true));
        assert.deepEqual(stack.observed.map((o) => o.outcome), ['cancelled', 'stored'], 'the lost call and one stored context');
        assert.equal(requests.filter((r) => r.startsWith('POST')).length, 2, requests.join());
        assert.ok(!requests.includes('DELETE /v1/ignite/uploads/:id'), 'no orphan upload was created, so none to delete');
    });
});
async function listArchive(t, archive) {
    const dir = await mkdtemp(join(tmpdir(), 'browser-folder-list-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    const { stdout } = await run('tar', ['-tzf', join(dir, 'ctx.tar.gz')], { maxBuffer: 16 * MiB });
    return stdout.split('\n').filter(Boolean);
}
//# sourceMappingURL=browser-folder.test.js.map