import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { openPage, recordRequests, useChromium, within } from './browser.js';
import { dataDirEntries, gzipLike, sha256, startStack, storedBytes } from './helpers.js';
const MiB = 1024 * 1024;
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const TIMEOUT = { timeout: 90_000 };
/** Stands in for IGNITE_API_URL, recording the CreateBuild calls the page's curl command makes. */
async function startBuildsApi(t) {
    const calls = [];
    const server = createServer((request, response) => {
        let body = '';
        request.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => {
            calls.push({ method: request.method, url: request.url, headers: request.headers, body });
            response.writeHead(200, { 'content-type': 'application/json' }).end('{"buildId":"b_1"}');
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(() => resolve())));
    return { url: `http://127.0.0.1:${server.address().port}`, calls };
}
describe('the upload page in headless Chromium', () => {
    const browser = useChromium();
    test('uploads an archive with progress, shows the contextId and a CreateBuild command', TIMEOUT, async (t) => {
        const api = await startBuildsApi(t);
        const stack = await startStack(t, { reference: { token: 'page-token' }, config: { apiUrl: api.url } });
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        const bytes = gzipLike(3 * MiB + 12345);
        await page.getByLabel('Archive').setInputFiles({ name: 'My App.tar.gz', mimeType: 'application/gzip', buffer: bytes });
        await page.getByLabel('Bearer token').fill('page-token');
        const observed = stack.nextObservation();
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.locator('#result').waitFor({ state: 'visible' });
        const contextId = (await page.locator('#context-id').textContent());
        assert.match(contextId, /^ctx_[0-9A-HJKMNP-TV-Z]{26}$/);
        const seen = await within(observed, 15_000, 'the reference upstream to finish the call');
        assert.equal(seen.outcome, 'stored');
        assert.equal(seen.contextId, contextId, 'the page shows the id the upstream stored');
        // Resumable uploads are on (the default): tus-js-client creates the upload, then one PATCH sends it.
        assert.deepEqual(requests, ['POST /v1/ignite/uploads', 'PATCH /v1/ignite/uploads/:id']);
        // The name defaults to the file name; the size is the tus Upload-Length.
        assert.deepEqual(seen.metadata, { name: 'My App.tar.gz', contentType: 'application/gzip', expectedSizeBytes: String(bytes.length) });
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(bytes));
        assert.equal(await page.locator('#progress').evaluate((el) => el.value), 100);
        assert.equal(await page.locator('#percent').textContent(), '100%');
        assert.match((await page.locator('#sent').textContent()), /^3\.0 MiB of 3\.0 MiB$/);
        assert.match((await page.locator('#speed').textContent()), /^$|\/s$/);
        assert.equal(await page.getByRole('status').textContent(), 'Upload complete.');
        const command = (await page.locator('#build-command').textContent());
        assert.ok(command.startsWith(`curl -X POST ${api.url}/v1/ignite/builds \\\n`), command);
        assert.ok(command.includes('Bearer $IGNITE_TOKEN'), 'a placeholder, never the token itself');
        assert.ok(!command.includes('page-token'));
        // Ready to run: the shown command, pasted into a shell, makes the CreateBuild call.
        await promisify(execFile)('bash', ['-c', command], { env: { ...process.env, IGNITE_TOKEN: 'build-token' }, timeout: 10_000 });
        assert.equal(api.calls.length, 1);
        assert.equal(api.calls[0].method, 'POST');
        assert.equal(api.calls[0].url, '/v1/ignite/builds');
        assert.equal(api.calls[0].headers.authorization, 'Bearer build-token');
        assert.equal(api.calls[0].headers['content-type'], 'application/json');
        assert.deepEqual(JSON.parse(api.calls[0].body), { name: 'my-app', tags: ['latest'], contextId });
        // The token lives in this tab's sessionStorage only.
        const storage = await page.evaluate(() => ({ session: sessionStorage.getItem('ignite-upload-bridge.token'), local: localStorage.length }));
        assert.deepEqual(storage, { session: 'page-token', local: 0 });
        assert.ok(!page.url().includes('page-token'));
        assert.deepEqual(problems, [], 'no script errors or CSP violations');
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'upload-page.png'), fullPage: true });
    });
    test('with RESUMABLE_UPLOADS=false the page sends one multipart POST, and Cancel aborts it', TIMEOUT, async (t) => {
        // 64 KiB per 40 ms upstream: about 1.6 MiB/s, so the page is mid-upload for many seconds.
        const stack = await startStack(t, { reference: { faults: { chunkDelayMs: 40 } }, config: { resumableUploads: false, chunkSizeBytes: 64 * 1024 } });
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        assert.equal(await page.evaluate(() => typeof window.tus), 'undefined', 'tus-js-client is not loaded');
        assert.equal(await page.getByRole('button', { name: 'Pause' }).count(), 0);
        const small = gzipLike(200_000);
        await page.getByLabel('Archive').setInputFiles({ name: 'plain.tar.gz', mimeType: 'application/gzip', buffer: small });
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.locator('#result').waitFor({ state: 'visible' });
        const contextId = (await page.locator('#context-id').textContent());
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(small));
        assert.deepEqual(stack.observed[0]?.metadata, { name: 'plain.tar.gz', contentType: 'application/gzip', expectedSizeBytes: String(small.length) });
        const dir = await mkdtemp(join(tmpdir(), 'browser-cancel-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const big = join(dir, 'big.tar.gz');
        const bytes = gzipLike(48 * MiB);
        await writeFile(big, bytes);
        await page.getByLabel('Archive').setInputFiles(big);
        await page.getByRole('textbox', { name: /^Name/ }).fill('cancel-me.tar.gz');
        const observed = stack.nextObservation();
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.waitForFunction(() => document.getElementById('progress').value >= 20);
        await page.waitForFunction(() => document.getElementById('speed').textContent.endsWith('/s'));
        const percentAtCancel = await page.locator('#progress').evaluate((el) => el.value);
        assert.ok(percentAtCancel < 100, `cancelled at ${percentAtCancel}%, before the end`);
        await page.getByRole('button', { name: 'Cancel' }).click();
        await page.getByRole('status').filter({ hasText: 'cancelled' }).waitFor();
        assert.equal(await page.getByRole('status').textContent(), 'Upload cancelled: nothing was stored.');
        assert.equal(await page.locator('#result').isVisible(), false);
        assert.equal(await page.getByRole('button', { name: 'Cancel' }).isDisabled(), true);
        assert.equal(await page.locator('#speed').textContent(), '', 'no speed shown for a cancelled upload');
        assert.deepEqual(requests, ['POST /v1/ignite/contexts', 'POST /v1/ignite/contexts']);
        const seen = await within(observed, 15_000, 'the reference upstream to finish the call');
        assert.equal(seen.outcome, 'cancelled');
        assert.equal(seen.metadata?.name, 'cancel-me.tar.gz');
        assert.ok(seen.bytes < bytes.length, `the upstream saw ${seen.bytes} of ${bytes.length} bytes`);
        assert.deepEqual(await dataDirEntries(stack), [contextId, `${contextId}.json`], 'nothing else stored, no temp file left');
        assert.deepEqual(problems, []);
    });
    test('a file that is not an archive: the person\'s text, the bridge\'s message, and a bar that is not left full and blue', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const { page } = await openPage(t, browser());
        await page.goto(`${stack.baseUrl}/`);
        // Large enough that the refusal arrives while the browser is still sending.
        const text = Buffer.from('<!DOCTYPE html><p>not an archive</p>\n'.repeat(80_000));
        await page.getByLabel('Archive').setInputFiles({ name: 'index.html', mimeType: 'text/html', buffer: text });
        await page.getByRole('button', { name: 'Upload' }).click();
        const alert = page.getByRole('alert');
        await alert.waitFor({ state: 'visible' });
        assert.equal(await alert.locator('strong').textContent(), 'This is not a .tar.gz or .zip archive.');
        const detail = (await alert.locator('.detail').textContent());
        assert.match(detail, /^The body is not a gzip or zip archive \(it starts with bytes 3c 21 44 4f\)/);
        assert.match(detail, /tar -cz/);
        assert.equal(await page.getByRole('status').textContent(), 'Upload failed.');
        assert.equal(await page.locator('#result').isVisible(), false);
        const bar = await page.locator('#progress').evaluate((el) => ({
            value: el.value,
            color: getComputedStyle(el).accentColor,
        }));
        assert.equal(bar.value, 0, 'the bar is emptied');
        assert.equal(bar.color, 'rgb(138, 28, 28)', 'red (--error-text), not the accent blue (rgb(35, 87, 217))');
        assert.equal(await page.locator('#percent').textContent(), 'Failed');
        assert.equal(await page.locator('#speed').textContent(), '');
        assert.equal(stack.observed.length, 0, 'no upstream call was made');
        assert.deepEqual(await dataDirEntries(stack), []);
    });
    test('after a success there is "Upload another", and the stored file cannot be uploaded twice', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        await page.getByLabel('Archive').setInputFiles({ name: 'first.tar.gz', mimeType: 'application/gzip', buffer: gzipLike(200_000) });
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        await page.locator('#result').waitFor({ state: 'visible' });
        const first = (await page.locator('#context-id').textContent());
        // Upload is gone, not merely re-enabled; a submit by Enter does nothing either.
        assert.equal(await page.getByRole('button', { name: 'Upload', exact: true }).count(), 0);
        const another = page.getByRole('button', { name: 'Upload another' });
        assert.equal(await another.isVisible(), true);
        await page.getByRole('textbox', { name: /^Name/ }).press('Enter');
        assert.equal(await page.locator('#result').isVisible(), true, 'the result stays');
        await another.click();
        assert.equal(await page.locator('#result').isVisible(), false);
        assert.equal(await page.locator('#file-choice').textContent(), 'Choose a file or drop it here');
        assert.equal(await another.isVisible(), false);
        const second = gzipLike(150_000);
        await page.getByLabel('Archive').setInputFiles({ name: 'second.tar.gz', mimeType: 'application/gzip', buffer: second });
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        await page.locator('#result').waitFor({ state: 'visible' });
        const contextId = (await page.locator('#context-id').textContent());
        assert.notEqual(contextId, first);
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(second));
        // Had Enter (or a second click) sent first.tar.gz again, it would be between these two.
        assert.deepEqual(stack.opened.map((o) => o.metadata?.name), ['first.tar.gz', 'second.tar.gz']);
        assert.equal(requests.filter((r) => r.startsWith('POST')).length, 2, requests.join());
        assert.deepEqual(problems, []);
    });
    test('a file dropped on the page is the one uploaded', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const { page, problems } = await openPage(t, browser());
        await page.goto(`${stack.baseUrl}/`);
        const bytes = gzipLike(200_000);
        const dataTransfer = await page.evaluateHandle((base64) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'dropped.tgz', { type: 'application/gzip' }));
            return transfer;
        }, bytes.toString('base64'));
        await page.dispatchEvent('#drop', 'dragover', { dataTransfer });
        await page.dispatchEvent('#drop', 'drop', { dataTransfer });
        assert.equal(await page.locator('#file-choice').textContent(), 'dropped.tgz');
        await page.getByRole('button', { name: 'Upload' }).click();
        await page.locator('#result').waitFor({ state: 'visible' });
        const contextId = (await page.locator('#context-id').textContent());
        assert.equal(stack.observed.at(-1)?.metadata?.name, 'dropped.tgz');
        assert.equal(sha256(await storedBytes(stack, contextId)), sha256(bytes));
        assert.deepEqual(problems, []);
    });
    test('works by keyboard alone at phone width', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const { page, problems } = await openPage(t, browser(), { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
        await page.goto(`${stack.baseUrl}/`);
        const bytes = gzipLike(300_000);
        await page.getByLabel('Archive').setInputFiles({ name: 'a-rather-long-archive-name-for-a-small-phone-screen.tar.gz', mimeType: 'application/gzip', buffer: bytes });
        // Every control is reachable with Tab, in reading order, and labelled.
        await page.locator('body').focus();
        const order = [];
        for (let i = 0; i < 6; i++) {
            await page.keyboard.press('Tab');
            order.push(await page.evaluate(() => document.activeElement?.id ?? ''));
        }
        assert.deepEqual(order, ['file', 'folder', 'name', 'token', 'start-build', 'upload']);
        await page.getByRole('textbox', { name: /^Name/ }).focus();
        await page.keyboard.type('phone.tar.gz');
        await page.keyboard.press('Enter');
        await page.locator('#result').waitFor({ state: 'visible' });
        const contextId = (await page.locator('#context-id').textContent());
        assert.equal(stack.observed.at(-1)?.contextId, contextId);
        assert.equal(stack.observed.at(-1)?.metadata?.name, 'phone.tar.gz');
        const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
        assert.ok(widths.page <= widths.viewport, `no sideways scrolling at phone width (${widths.page} > ${widths.viewport})`);
        assert.deepEqual(problems, []);
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'upload-page-phone.png'), fullPage: true });
    });
});
//# sourceMappingURL=browser-upload.test.js.map