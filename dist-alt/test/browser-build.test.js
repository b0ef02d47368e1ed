import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { openPage, recordRequests, useChromium } from './browser.js';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { collectBuilds } from './reference-helpers.js';
const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 120_000 };
/** A small folder on disk, removed after the test. */
async function folderOf(t, name, tree) {
    const parent = await mkdtemp(join(tmpdir(), 'browser-build-'));
    t.after(() => rm(parent, { recursive: true, force: true }));
    const root = join(parent, name);
    for (const [path, content] of Object.entries(tree)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), content);
    }
    return root;
}
describe('"Start a build" on the page (headless Chromium, the reference\'s CreateBuild API)', () => {
    const browser = useChromium();
    test('a folder with "Start a build": the page shows the build the bridge started, and its state', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const builds = collectBuilds(stack.reference.events);
        const root = await folderOf(t, 'Shop Front', { 'Dockerfile': 'FROM scratch\nCOPY . /\n', 'src/index.html': '<h1>shop</h1>\n' });
        const { page, problems } = await openPage(t, browser());
        await page.goto(`${stack.baseUrl}/`);
        await page.locator('#folder').setInputFiles(root);
        await page.locator('#folder-summary').waitFor({ state: 'visible' });
        await page.getByLabel('Start a build once it is stored').check();
        await page.getByLabel(/^Tags/).fill('latest, v3');
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.locator('#result').waitFor({ state: 'visible', timeout: 60_000 });
        const contextId = (await page.locator('#context-id').textContent());
        assert.equal(builds.length, 1, 'one build');
        assert.deepEqual({ contextId: builds[0].contextId, name: builds[0].name, tags: builds[0].tags }, { contextId, name: 'shop-front', tags: ['latest', 'v3'] });
        assert.ok((await storedBytes(stack, contextId)).length > 0);
        assert.equal(await page.locator('#build-id').textContent(), builds[0].id);
        assert.equal(await page.locator('#build-state').textContent(), '(queued)');
        assert.equal(await page.locator('#build-started').isVisible(), true);
        assert.equal(await page.locator('#build-manual').isVisible(), false, 'no command to start it by hand');
        assert.equal(await page.getByRole('status').textContent(), 'Upload complete.');
        assert.deepEqual(problems, []);
    });
    test('the API refuses the build (424): the page shows the stored contextId and the reason, and the command to start it', TIMEOUT, async (t) => {
        const stack = await startStack(t, { reference: { buildApi: { faults: { status: 403 } } } });
        const bytes = gzipLike(MiB + 77);
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        await page.getByLabel('Archive').setInputFiles({ name: 'api.tar.gz', mimeType: 'application/gzip', buffer: bytes });
        await page.getByLabel('Start a build once it is stored').check();
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.locator('#result').waitFor({ state: 'visible', timeout: 60_000 });
        const contextId = (await page.locator('#context-id').textContent());
        assert.equal(contextId, stack.observed[0].contextId);
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(bytes));
        const reason = (await page.locator('#build-not-started').textContent());
        assert.match(reason, /^The build did not start \(BUILD_NOT_STARTED\)/);
        assert.match(reason, /CreateBuild answered 403 \(injected failure\)/, 'the API\'s own status and message');
        assert.equal(await page.locator('#build-started').isVisible(), false);
        assert.match((await page.locator('#build-command').textContent()), new RegExp(`"contextId":"${contextId}"`));
        assert.equal(await page.getByRole('status').textContent(), 'Upload complete; the build did not start.');
        // Not retried, not uploaded again: one creation, one PATCH, one upstream call.
        assert.deepEqual(requests, ['POST /v1/ignite/uploads', 'PATCH /v1/ignite/uploads/:id']);
        assert.equal(stack.opened.length, 1);
        assert.deepEqual(problems.filter((p) => !/status of 424/.test(p)), []);
    });
    test('when the final answer is lost, the page reads the build from HEAD (tus-js-client\'s onSuccess gets the HEAD response)', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const builds = collectBuilds(stack.reference.events);
        const { page } = await openPage(t, browser());
        const requests = recordRequests(page);
        let answered = false;
        await page.route('**/v1/ignite/uploads/*', async (route) => {
            if (route.request().method() !== 'PATCH' || answered)
                return route.continue();
            await route.fetch();
            answered = true;
            await route.abort('connectionreset');
        });
        await page.goto(`${stack.baseUrl}/`);
        await page.getByLabel('Archive').setInputFiles({ name: 'lost.tar.gz', mimeType: 'application/gzip', buffer: gzipLike(MiB) });
        await page.getByLabel('Start a build once it is stored').check();
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.locator('#result').waitFor({ state: 'visible', timeout: 60_000 });
        assert.deepEqual(requests, ['POST /v1/ignite/uploads', 'PATCH /v1/ignite/uploads/:id', 'HEAD /v1/ignite/uploads/:id']);
        assert.equal(builds.length, 1);
        assert.equal(await page.locator('#context-id').textContent(), builds[0].contextId);
        assert.equal(await page.locator('#build-id').textContent(), builds[0].id);
        assert.equal(await page.locator('#build-state').textContent(), '(queued)');
    });
    test('without IGNITE_API_URL the page offers no "Start a build"', TIMEOUT, async (t) => {
        const stack = await startStack(t, { config: { apiUrl: undefined } });
        const { page } = await openPage(t, browser());
        await page.goto(`${stack.baseUrl}/`);
        assert.equal(await page.locator('body').getAttribute('data-builds'), 'off');
        assert.equal(await page.locator('#build-options').isVisible(), false);
        assert.equal(await page.getByLabel('Start a build once it is stored').count(), 1, 'present, hidden');
    });
});
//# sourceMappingURL=browser-build.test.js.map