import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openPage, useChromium } from './browser.js';
import { selfSignedCert } from './h2.js';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 120_000 };

describe('Chromium over HTTPS speaks HTTP/2 to the bridge', () => {
  const browser = useChromium();

  test('the page uploads with tus over HTTP/2, byte-exact', TIMEOUT, async (t) => {
    const cert = await selfSignedCert(t);
    const stack = await startStack(t, { config: { tlsCertFile: cert.cert, tlsKeyFile: cert.key } });
    const dir = await mkdtemp(join(tmpdir(), 'browser-h2-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bytes = gzipLike(12 * MiB + 321);
    const path = join(dir, 'ctx.tar.gz');
    await writeFile(path, bytes);
    // The test certificate is self-signed (as --ignore-certificate-errors would allow).
    const { page, problems } = await openPage(t, browser(), { ignoreHTTPSErrors: true });
    const methods: string[] = [];
    page.on('request', (r) => methods.push(r.method()));
    await page.goto(`${stack.baseUrl}/`);
    await page.getByLabel('Archive').setInputFiles(path);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#result').waitFor({ state: 'visible', timeout: 60_000 });
    const contextId = (await page.locator('#context-id').textContent())!;
    assert.equal(sha256(await storedBytes(stack, contextId)), sha256(bytes));
    assert.ok(methods.includes('PATCH'), `tus was used: ${methods.join()}`);
    // Every request of the page (the document, its scripts, tus' POST and PATCHes) went over h2.
    const protocols = await page.evaluate(() => [
      (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
      ...performance.getEntriesByType('resource').map((e) => (e as PerformanceResourceTiming).nextHopProtocol),
    ]);
    assert.ok(protocols.length > 2 && protocols.every((p) => p === 'h2'), protocols.join());
    assert.deepEqual(problems, []);
  });

  test('a streaming fetch (ReadableStream body, duplex: half) uploads an archive of unknown length, byte-exact', TIMEOUT, async (t) => {
    const cert = await selfSignedCert(t);
    const stack = await startStack(t, { config: { tlsCertFile: cert.cert, tlsKeyFile: cert.key } });
    const { page } = await openPage(t, browser(), { ignoreHTTPSErrors: true });
    await page.goto(`${stack.baseUrl}/healthz`);
    const bytes = gzipLike(6 * MiB + 5);
    // The archive goes to the page in pieces; the page streams them as they come, with no Content-Length.
    const answer = await page.evaluate(async (b64) => {
      const all = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < all.length; at += 256 * 1024) controller.enqueue(all.slice(at, at + 256 * 1024));
          controller.close();
        },
      });
      const res = await fetch('/v1/ignite/contexts/streamed.tar.gz', { method: 'PUT', body, duplex: 'half' } as RequestInit);
      const text = await res.text();
      // The resource timing entry is added once the response is read (later still in some Chromium versions).
      let entry: PerformanceResourceTiming | undefined;
      for (let tries = 0; !entry && tries < 100; tries++) {
        entry = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/streamed.tar.gz')) as PerformanceResourceTiming | undefined;
        if (!entry) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { status: res.status, body: text, protocol: entry?.nextHopProtocol };
    }, bytes.toString('base64'));
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.protocol, 'h2');
    const { contextId, sizeBytes } = JSON.parse(answer.body) as { contextId: string; sizeBytes: string };
    assert.equal(sizeBytes, String(bytes.length));
    assert.equal(sha256(await storedBytes(stack, contextId)), sha256(bytes));
    assert.equal(stack.observed.at(-1)?.metadata?.expectedSizeBytes, '0', 'no length was announced');
  });
});
