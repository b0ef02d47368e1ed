/**
 * Headless Chromium driven over the bare DevTools protocol, without Playwright: Playwright turns on
 * the Network domain, whose buffer keeps request bodies in the renderer (up to about 200 MB), which
 * would hide what a page itself holds. Here only Target, Page, Runtime, DOM, Browser and SystemInfo
 * are used.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { findChromium } from '../test/browser.js';
/** A Chromium of its own, with one page loaded from `url` (its load event fired), closed by `t`. */
export async function openRawPage(t, url) {
    const found = await findChromium();
    const profile = await mkdtemp(join(tmpdir(), 'raw-chromium-'));
    const child = spawn(found.executablePath, [
        '--headless=new', '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--no-sandbox', '--disable-gpu',
        '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', 'about:blank',
    ], { env: { ...process.env, ...found.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const gone = new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
    });
    t.after(async () => {
        child.kill('SIGKILL');
        // The profile is removed once Chromium has gone: a browser still writing to it fails the rm.
        await gone;
        await rm(profile, { recursive: true, force: true, maxRetries: 3 });
    });
    const endpoint = await new Promise((resolve, reject) => {
        let output = '';
        child.stderr.on('data', (d) => {
            output += d.toString();
            const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
            if (match)
                resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`Chromium exited ${code}: ${output}`)));
    });
    const ws = new WebSocket(endpoint);
    await new Promise((resolve, reject) => {
        ws.addEventListener('open', resolve);
        ws.addEventListener('error', reject);
    });
    t.after(() => ws.close());
    let nextId = 1;
    const pending = new Map();
    const listeners = new Set();
    ws.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data));
        if (message.method)
            for (const listener of listeners)
                listener(message);
        const waiter = message.id === undefined ? undefined : pending.get(message.id);
        if (!waiter)
            return;
        pending.delete(message.id);
        if (message.error)
            waiter.reject(new Error(message.error.message));
        else
            waiter.resolve(message.result);
    });
    const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve, reject });
        ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
    const nextEvent = (method, sessionId, timeoutMs) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            listeners.delete(listener);
            reject(new Error(`no ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (message) => {
            if (message.method !== method || message.sessionId !== sessionId)
                return;
            clearTimeout(timer);
            listeners.delete(listener);
            resolve();
        };
        listeners.add(listener);
    });
    // The target is opened blank and navigated here, so that the wait is for this page's load event:
    // a target created with the URL still shows its initial about:blank for a while, whose readyState
    // is already 'complete', and a selector run on it matches nothing.
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    await send('Page.enable', {}, sessionId);
    const loaded = nextEvent('Page.loadEventFired', sessionId, 20_000);
    const { errorText } = await send('Page.navigate', { url }, sessionId);
    if (errorText)
        throw new Error(`${url}: ${errorText}`);
    await loaded;
    const evaluate = async (expression) => {
        const { result, exceptionDetails } = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (exceptionDetails)
            throw new Error(`${expression}: ${exceptionDetails.text}`);
        return result.value;
    };
    const waitFor = async (expression, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        while (!(await evaluate(`Boolean(${expression})`))) {
            if (Date.now() > deadline)
                throw new Error(`timed out waiting for ${expression}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    };
    const { product } = await send('Browser.getVersion');
    return {
        evaluate,
        waitFor,
        version: product,
        async setInputFiles(selector, files) {
            // The element as a live object of the page (not a DOM-domain node id, which a new document invalidates).
            const { result } = await send('Runtime.evaluate', { expression: `document.querySelector(${JSON.stringify(selector)})` }, sessionId);
            if (!result.objectId || result.subtype === 'null')
                throw new Error(`no element matches ${selector} on ${url}`);
            await send('DOM.setFileInputFiles', { files, objectId: result.objectId }, sessionId);
        },
        async rendererPids() {
            const { processInfo } = await send('SystemInfo.getProcessInfo');
            return processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
        },
    };
}
//# sourceMappingURL=raw-chromium.js.map