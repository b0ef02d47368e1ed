import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test, type TestContext } from 'node:test';
import { TUS_BROWSER_BUILD } from '../src/routes/upload-page.js';
import { openPage, startOtherOrigin, useChromium } from './browser.js';
import { dataDirEntries, gzipLike, sha256, startStack, storedBytes, type Stack } from './helpers.js';
import { allDocs } from './docs.js';

const MiB = 1024 * 1024;
const TIMEOUT = { timeout: 90_000 };

describe('uploads from a page on another origin (CORS) in headless Chromium', () => {
  const browser = useChromium();

  /** What a customer's site would run: FormData (name, then file) with a bearer token. */
  async function uploadFrom(origin: string, t: Parameters<typeof openPage>[0], url: string, archive: Buffer) {
    const { page, problems } = await openPage(t, browser());
    await page.goto(`${origin}/`);
    const result = await page.evaluate(async ({ url, base64 }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const form = new FormData();
      form.append('name', 'from-another-site.tar.gz');
      form.append('file', new Blob([bytes]), 'ctx.tar.gz');
      try {
        const response = await fetch(url, { method: 'POST', body: form, headers: { Authorization: 'Bearer site-token', 'Want-Repr-Digest': 'sha-256=1' } });
        return {
          status: response.status,
          body: await response.json(),
          reprDigest: response.headers.get('repr-digest'),
          requestId: response.headers.get('x-request-id'),
        };
      } catch (err) {
        return { rejected: `${(err as Error).name}: ${(err as Error).message}` };
      }
    }, { url, base64: archive.toString('base64') });
    return { result, problems };
  }

  test('an allowed origin uploads with an Authorization header and reads the exposed headers', TIMEOUT, async (t) => {
    const origin = await startOtherOrigin(t);
    const stack = await startStack(t, { reference: { token: 'site-token' }, config: { corsAllowedOrigins: [origin] } });
    const archive = gzipLike(700_000);
    const { result } = await uploadFrom(origin, t, `${stack.baseUrl}/v1/ignite/contexts`, archive);
    assert.ok('status' in result, JSON.stringify(result));
    assert.equal(result.status, 200, JSON.stringify(result.body));
    const { contextId } = result.body as { contextId: string };
    assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive));
    assert.equal(stack.observed.at(-1)?.metadata?.name, 'from-another-site.tar.gz');
    assert.equal(result.reprDigest, `sha-256=:${Buffer.from(sha256(archive), 'hex').toString('base64')}:`);
    assert.match(result.requestId ?? '', /^[0-9a-f-]{36}$/);
  });

  test('an allowed origin can read the JSON error message', TIMEOUT, async (t) => {
    const origin = await startOtherOrigin(t);
    const stack = await startStack(t, { config: { corsAllowedOrigins: [origin] } });
    const { result } = await uploadFrom(origin, t, `${stack.baseUrl}/v1/ignite/contexts`, Buffer.from('plain text, not an archive'));
    assert.ok('status' in result, JSON.stringify(result));
    assert.equal(result.status, 415);
    assert.match((result.body as { message: string }).message, /not a gzip or zip archive/);
  });

  for (const [label, allowed] of [['CORS off (the default)', []], ['only another origin allowed', ['https://app.example.com']]] as const) {
    test(`the browser blocks the upload when the origin is not allowed: ${label}`, TIMEOUT, async (t) => {
      const origin = await startOtherOrigin(t);
      const stack = await startStack(t, { reference: { token: 'site-token' }, config: { corsAllowedOrigins: [...allowed] } });
      const { result, problems } = await uploadFrom(origin, t, `${stack.baseUrl}/v1/ignite/contexts`, gzipLike(100_000));
      assert.deepEqual(result, { rejected: 'TypeError: Failed to fetch' });
      assert.ok(problems.some((p) => p.includes('blocked by CORS policy')), problems.join('\n'));
      // The preflight failed, so the POST was never sent.
      assert.equal(stack.observed.length, 0, 'the upstream saw no upload');
      assert.deepEqual(await dataDirEntries(stack), []);
    });
  }

  // tus-js-client, as a customer's site would use it against the bridge's resumable uploads.
  /** A customer's site that serves tus.min.js itself. */
  const customerSite = async (t: TestContext) => startOtherOrigin(t, { '/tus.min.js': await readFile(TUS_BROWSER_BUILD, 'utf8') });

  /** The customer's page uploads to the bridge with tus-js-client in 1 MiB PATCHes. */
  async function tusFrom(t: TestContext, origin: string, stack: Stack, archive: Buffer) {
    const { page, problems } = await openPage(t, browser());
    await page.goto(`${origin}/`);
    const result = await page.evaluate(({ endpoint, base64 }) => new Promise<Record<string, unknown>>((resolve) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const upload = new (window as unknown as { tus: typeof import('tus-js-client') }).tus.Upload(new Blob([bytes]), {
        endpoint,
        metadata: { filename: 'from-another-site.tar.gz' },
        headers: { Authorization: 'Bearer site-token' },
        chunkSize: 1024 * 1024,
        retryDelays: [],
        storeFingerprintForResuming: false,
        onSuccess: ({ lastResponse }) => resolve({
          contextId: lastResponse.getHeader('Ignite-Context-Id'),
          sizeBytes: lastResponse.getHeader('Ignite-Size-Bytes'),
          url: upload.url,
        }),
        onError: (err) => resolve({ error: String(err) }),
      });
      upload.start();
    }), { endpoint: `${stack.baseUrl}/v1/ignite/uploads`, base64: archive.toString('base64') });
    return { result, problems };
  }

  test('tus-js-client from an allowed origin uploads in several PATCHes and reads Location, Upload-Offset and Ignite-Context-Id', TIMEOUT, async (t) => {
    const origin = await customerSite(t);
    const stack = await startStack(t, { reference: { token: 'site-token' }, config: { corsAllowedOrigins: [origin] } });
    const archive = gzipLike(3 * MiB + 5);
    const { result, problems } = await tusFrom(t, origin, stack, archive);
    assert.equal(typeof result['contextId'], 'string', JSON.stringify(result));
    assert.equal(result['sizeBytes'], String(archive.length));
    assert.match(String(result['url']), new RegExp(`^${stack.baseUrl}/v1/ignite/uploads/[\\w-]+$`), 'Location was readable');
    assert.equal(sha256(await storedBytes(stack, result['contextId'] as string)), sha256(archive));
    assert.equal(stack.opened.length, 1);
    assert.deepEqual(stack.opened[0]!.metadata?.name, 'from-another-site.tar.gz');
    assert.deepEqual(problems, []);
  });

  test('the docs\' tus-js-client function works from an allowed origin', TIMEOUT, async (t) => {
    const readme = await allDocs();
    const snippet = /```js\nimport \* as tus from 'tus-js-client';\n\n(function uploadBuildContext[\s\S]*?\n)```/.exec(readme)?.[1];
    assert.ok(snippet, 'the docs have the tus-js-client function');
    const origin = await customerSite(t);
    const stack = await startStack(t, { reference: { token: 'site-token' }, config: { corsAllowedOrigins: [origin] } });
    const archive = gzipLike(MiB + 7);
    const { page, problems } = await openPage(t, browser());
    await page.goto(`${origin}/`);
    const contextId = await page.evaluate(`(async () => {
      ${snippet.replace('https://uploads.example.com', stack.baseUrl)}
      const bytes = Uint8Array.from(atob(${JSON.stringify(archive.toString('base64'))}), (c) => c.charCodeAt(0));
      return uploadBuildContext(new File([bytes], 'readme.tar.gz'), { token: 'site-token' });
    })()`);
    assert.equal(sha256(await storedBytes(stack, contextId as string)), sha256(archive));
    assert.equal(stack.opened[0]!.metadata?.name, 'readme.tar.gz');
    assert.deepEqual(problems, []);
  });

  test('tus-js-client from a disallowed origin is blocked before any upload is created', TIMEOUT, async (t) => {
    const origin = await customerSite(t);
    const stack = await startStack(t, { reference: { token: 'site-token' }, config: { corsAllowedOrigins: ['https://app.example.com'] } });
    const { result, problems } = await tusFrom(t, origin, stack, gzipLike(100_000));
    assert.match(String(result['error']), /^Error: tus: failed to create upload/, JSON.stringify(result));
    assert.ok(problems.some((p) => p.includes('blocked by CORS policy')), problems.join('\n'));
    assert.equal(stack.app.resumableUploads?.size, 0, 'the preflight failed, so the creation POST was never sent');
    assert.equal(stack.opened.length, 0);
  });
});
