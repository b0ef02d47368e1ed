import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openPage, recordRequests, useChromium } from './browser.js';
import { assertNothingStored, gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';
const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 120_000 };
// 64 KiB per 40 ms upstream: about 1.6 MiB/s, so the page is mid-upload for several seconds.
const SLOW = { reference: { faults: { chunkDelayMs: 40 } }, config: { chunkSizeBytes: 64 * 1024 } };
/** An archive on disk for the file picker (large files go by path, not through the protocol). */
async function archiveFile(t, size) {
    const dir = await mkdtemp(join(tmpdir(), 'browser-tus-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'ctx.tar.gz');
    const bytes = gzipLike(size);
    await writeFile(path, bytes);
    return { path, bytes };
}
async function proxied(t, stack) {
    const proxy = await TcpProxy.start(Number(new URL(stack.baseUrl).port));
    t.after(() => proxy.close());
    return proxy;
}
const percent = (page) => page.locator('#progress').evaluate((el) => el.value);
async function waitForPercent(page, atLeast) {
    await page.waitForFunction((p) => document.getElementById('progress').value >= p, atLeast, { timeout: 60_000 });
    return percent(page);
}
async function expectStored(page, stack, bytes) {
    await page.locator('#result').waitFor({ state: 'visible', timeout: 60_000 });
    const contextId = (await page.locator('#context-id').textContent());
    assert.equal(await page.getByRole('status').textContent(), 'Upload complete.');
    assert.equal(sha256(await storedBytes(stack, contextId)), sha256(bytes));
    assert.equal(stack.opened.length, 1, 'one upstream call');
    assert.equal(stack.opened[0].contextId, contextId);
    return contextId;
}
describe('the upload page resumes uploads (tus) in headless Chromium', () => {
    const browser = useChromium();
    test('a connection cut mid-upload resumes and completes: one upstream call, the same bytes', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const proxy = await proxied(t, stack);
        const { path, bytes } = await archiveFile(t, 24 * MiB + 4321);
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        const offsets = [];
        page.on('request', (r) => {
            if (r.method() === 'PATCH')
                offsets.push(Number(r.headers()['upload-offset']));
        });
        await page.goto(`${proxy.url}/`);
        proxy.cutWhenSent(proxy.sent + Math.floor(bytes.length / 2));
        await page.getByLabel('Archive').setInputFiles(path);
        await page.getByRole('button', { name: 'Upload' }).click();
        await expectStored(page, stack, bytes);
        assert.equal(stack.observed[0].bytes, bytes.length);
        assert.ok(proxy.connections >= 2, 'the cut connection was replaced');
        // Chromium may resend the cut PATCH from 0 by itself (refused with 409) before tus-js-client resumes.
        const resumedAt = offsets.at(-1);
        assert.equal(offsets[0], 0);
        // Somewhere before the cut (what was in flight when it came is lost, and re-sent), never from the start.
        assert.ok(resumedAt > 0 && resumedAt <= bytes.length / 2, `resumed at ${resumedAt}, before the cut at half`);
        assert.ok(offsets.every((o) => o === 0 || o === resumedAt), `PATCHes at ${offsets.join()}`);
        assert.deepEqual(requests.slice(0, 2), ['POST /v1/ignite/uploads', 'PATCH /v1/ignite/uploads/:id']);
        assert.ok(requests.includes('HEAD /v1/ignite/uploads/:id'), requests.join());
        assert.equal(requests.filter((r) => r.startsWith('POST')).length, 1, 'one upload created');
        assert.equal(await percent(page), 100);
        // Chromium itself resends a request cut on a reused connection: that PATCH from offset 0 gets 409
        // with the true offset, and tus-js-client asks HEAD before it continues.
        assert.deepEqual(problems.filter((p) => !/status of 409 \(Conflict\)|ERR_CONNECTION_RESET/.test(p)), []);
    });
    test('Cancel mid-upload sends DELETE: the upstream call is reset and nothing is stored', TIMEOUT, async (t) => {
        const stack = await startStack(t, SLOW);
        const { path, bytes } = await archiveFile(t, 24 * MiB);
        const { page } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        await page.getByLabel('Archive').setInputFiles(path);
        await page.getByRole('textbox', { name: /^Name/ }).fill('cancel-me.tar.gz');
        await page.getByRole('button', { name: 'Upload' }).click();
        const at = await waitForPercent(page, 20);
        assert.ok(at < 100, `cancelled at ${at}%, before the end`);
        await page.waitForFunction(() => document.getElementById('speed').textContent.endsWith('/s'));
        await page.getByRole('button', { name: 'Cancel' }).click();
        await page.getByRole('status').filter({ hasText: 'cancelled' }).waitFor();
        assert.equal(await page.getByRole('status').textContent(), 'Upload cancelled: nothing was stored.');
        assert.equal(await page.locator('#result').isVisible(), false);
        assert.equal(await page.getByRole('button', { name: 'Cancel' }).isDisabled(), true);
        assert.equal(await page.getByRole('button', { name: 'Upload' }).isEnabled(), true);
        assert.equal(await page.locator('#speed').textContent(), '', 'no speed shown for a cancelled upload');
        assert.equal(requests.at(-1), 'DELETE /v1/ignite/uploads/:id');
        const [call, ...others] = await assertNothingStored(stack);
        assert.deepEqual(others, []);
        assert.equal(call.outcome, 'cancelled', 'the upstream saw a reset');
        assert.equal(call.metadata?.name, 'cancel-me.tar.gz');
        assert.ok(call.bytes < bytes.length, `the upstream saw ${call.bytes} of ${bytes.length} bytes`);
    });
    test('Pause stops sending; Resume continues from the bridge\'s offset and completes', TIMEOUT, async (t) => {
        const stack = await startStack(t, SLOW);
        const { path, bytes } = await archiveFile(t, 12 * MiB);
        const { page, problems } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${stack.baseUrl}/`);
        await page.getByLabel('Archive').setInputFiles(path);
        await page.getByRole('button', { name: 'Upload' }).click();
        await waitForPercent(page, 15);
        await page.getByRole('button', { name: 'Pause' }).click();
        await page.getByRole('button', { name: 'Resume' }).waitFor();
        assert.match((await page.getByRole('status').textContent()), /^Paused at \d+%\.$/);
        assert.equal(await page.getByRole('button', { name: 'Upload' }).isDisabled(), true, 'one upload at a time');
        assert.equal(requests.filter((r) => r.startsWith('PATCH')).length, 1);
        await page.getByRole('button', { name: 'Resume' }).click();
        await expectStored(page, stack, bytes);
        assert.deepEqual(requests, ['POST /v1/ignite/uploads', 'PATCH /v1/ignite/uploads/:id', 'HEAD /v1/ignite/uploads/:id', 'PATCH /v1/ignite/uploads/:id']);
        assert.equal(await page.getByRole('button', { name: 'Pause' }).isDisabled(), true);
        assert.deepEqual(problems, []);
    });
    test('when the final answer is lost, the page reads the contextId from HEAD', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const { path, bytes } = await archiveFile(t, 2 * MiB + 99);
        const { page } = await openPage(t, browser());
        const requests = recordRequests(page);
        let answered;
        // The PATCH reaches the bridge, which completes the upload; its answer never reaches the page.
        await page.route('**/v1/ignite/uploads/*', async (route) => {
            if (route.request().method() !== 'PATCH' || answered)
                return route.continue();
            const response = await route.fetch();
            answered = { status: response.status(), contextId: response.headers()['ignite-context-id'] };
            await route.abort('connectionreset');
        });
        await page.goto(`${stack.baseUrl}/`);
        await page.getByLabel('Archive').setInputFiles(path);
        await page.getByRole('button', { name: 'Upload' }).click();
        const contextId = await expectStored(page, stack, bytes);
        assert.deepEqual(answered, { status: 200, contextId });
        assert.deepEqual(requests, ['POST /v1/ignite/uploads', 'PATCH /v1/ignite/uploads/:id', 'HEAD /v1/ignite/uploads/:id']);
        assert.match((await page.locator('#size').textContent()), new RegExp(`\\(${bytes.length} bytes\\)`));
    });
    test('a connection that died silently is restarted by the `online` event', TIMEOUT, async (t) => {
        const stack = await startStack(t);
        const proxy = await proxied(t, stack);
        const { path, bytes } = await archiveFile(t, 8 * MiB);
        const { page } = await openPage(t, browser());
        const requests = recordRequests(page);
        await page.goto(`${proxy.url}/`);
        // From here on the proxy swallows the bytes: the browser sends the rest into the void and waits.
        proxy.blackholeWhenSent(proxy.sent + 3 * MiB);
        await page.getByLabel('Archive').setInputFiles(path);
        await page.getByRole('button', { name: 'Upload' }).click();
        await waitForPercent(page, 100);
        assert.equal(await page.locator('#result').isVisible(), false);
        // Chromium's offline emulation does not fail the stalled request; it only fires the events.
        await page.context().setOffline(true);
        await page.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
        await page.context().setOffline(false);
        await expectStored(page, stack, bytes);
        assert.equal(requests.filter((r) => r.startsWith('POST')).length, 1, 'one upload created');
        assert.ok(requests.includes('HEAD /v1/ignite/uploads/:id'), requests.join());
    });
});
//# sourceMappingURL=browser-resumable.test.js.map