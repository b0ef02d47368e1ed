import { accessSync, constants, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { npmChromium } from './npm-chromium.js';
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
/** An executable file (a path hidden by a bind mount of /dev/null is neither). */
function executable(path) {
    try {
        accessSync(path, constants.X_OK);
        return statSync(path).isFile();
    }
    catch {
        return false;
    }
}
/**
 * The system's Chromium when it is installed, else the one inside the @sparticuz/chromium
 * devDependency, with its own NSS, NSPR and expat. TEST_CHROMIUM=system or =npm picks one.
 */
export async function findChromium() {
    const wanted = process.env['TEST_CHROMIUM'] ?? '';
    if (!['', 'system', 'npm'].includes(wanted))
        throw new Error(`TEST_CHROMIUM=${wanted}: use system, npm or leave it unset`);
    if (wanted !== 'npm' && executable(SYSTEM_CHROMIUM))
        return { executablePath: SYSTEM_CHROMIUM, source: 'the system' };
    if (wanted === 'system')
        throw new Error(`TEST_CHROMIUM=system, but there is no Chromium at ${SYSTEM_CHROMIUM}: apt-get install -y chromium`);
    const bundled = await npmChromium();
    if (!bundled)
        throw new Error('The browser tests need Chromium: run `npm ci` (it installs @sparticuz/chromium), or apt-get install -y chromium');
    return bundled;
}
let announced = false;
/** Headless Chromium; the flags keep it from dialling out of a closed network. */
export async function launchChromium() {
    const found = await findChromium();
    const browser = await chromium.launch({
        executablePath: found.executablePath,
        // Playwright passes the process environment unless given one.
        ...(found.env ? { env: { ...process.env, ...found.env } } : {}),
        timeout: 30_000,
        args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-dev-shm-usage',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
        ],
    });
    if (!announced) {
        announced = true;
        console.log(`browser tests: Chromium ${browser.version()} from ${found.source} (${found.executablePath})`);
    }
    return browser;
}
/** One Chromium for the enclosing describe: launched before its tests, closed after them. */
export function useChromium() {
    let browser;
    before(async () => {
        browser = await launchChromium();
    });
    after(async () => {
        await browser?.close();
    });
    return () => {
        if (!browser)
            throw new Error('Chromium is not running: useChromium() belongs in a describe, and the browser is there for its tests');
        return browser;
    };
}
/** A fresh browser context and page, closed after the test; no step waits longer than 20 s. */
export async function openPage(t, browser, options = {}) {
    const context = await browser.newContext({ viewport: { width: 960, height: 900 }, ...options });
    t.after(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (message) => {
        if (message.type() === 'error')
            problems.push(`console: ${message.text()}`);
    });
    return { page, problems };
}
/**
 * A plain page on a second local origin, standing in for a customer's site that embeds uploads;
 * `scripts` (path → source) are served from it and loaded by its page.
 */
export async function startOtherOrigin(t, scripts = {}) {
    const tags = Object.keys(scripts).map((path) => `<script src="${path}"></script>`).join('');
    const server = createServer((request, response) => {
        const script = Object.hasOwn(scripts, request.url ?? '') ? scripts[request.url] : undefined;
        if (script !== undefined) {
            response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
            return;
        }
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(`<!doctype html><html><head><title>other site</title><link rel="icon" href="data:,">${tags}</head><body>another site</body></html>`);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
    }));
    return `http://127.0.0.1:${server.address().port}`;
}
/** The bridge requests the page makes, as "METHOD /path" (upload ids elided). */
export function recordRequests(page) {
    const seen = [];
    page.on('request', (r) => {
        const { pathname } = new URL(r.url());
        if (pathname.startsWith('/v1/'))
            seen.push(`${r.method()} ${pathname.replace(/\/uploads\/[\w-]+$/, '/uploads/:id')}`);
    });
    return seen;
}
/** Fails with `what` instead of hanging until the test's own timeout. */
export async function within(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    }
    finally {
        clearTimeout(timer);
    }
}
//# sourceMappingURL=browser.js.map