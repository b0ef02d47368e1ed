import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { ConfigError, configWith, loadConfig } from '../src/config.js';
import { REFUSED_ORIGINS_LOGGED } from '../src/http/cors.js';
import { loggerOptions } from '../src/observability/logger.js';
import { UpstreamClient } from '../src/grpc/upstream-client.js';
import { TUS_BROWSER_BUILD } from '../src/routes/upload-page.js';
import { gzipLike, startStack } from './helpers.js';
/** Routing checks only: the upload paths themselves are exercised over real sockets elsewhere. */
async function app(t, overrides = {}, logs) {
    const upstream = new UpstreamClient({ target: '127.0.0.1:9', responseTimeoutMs: 1000 });
    // With `logs`, the app's JSON log lines land there, as a log shipper would read them.
    const logger = logs ? loggerOptions({ logLevel: 'info' }, { write: (line) => { logs.push(JSON.parse(line)); } }) : false;
    const instance = await buildApp(configWith(overrides), { upstream, logger });
    t.after(async () => {
        await instance.close();
        upstream.close();
    });
    return instance;
}
const preflight = (origin, headers = 'authorization,content-type') => ({
    method: 'OPTIONS',
    url: '/v1/ignite/contexts',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
});
const corsHeaders = (headers) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));
describe('the upload page', () => {
    test('GET / serves the page with IGNITE_API_URL injected and a strict CSP', async (t) => {
        const instance = await app(t, { apiUrl: 'https://api.example.test/"><script>' });
        const res = await instance.inject({ method: 'GET', url: '/' });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
        assert.ok(res.body.includes('<body data-api-url="https://api.example.test/&quot;&gt;&lt;script&gt;" data-upload-mode="resumable" data-builds="on">'), 'the URL is escaped into an attribute; builds are on');
        assert.match(String(res.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        // Nothing from a CDN: every script and stylesheet is relative to the bridge.
        for (const [, url] of res.body.matchAll(/(?:src|href)="([^"]+)"/g))
            assert.match(url, /^(ui\/|data:)/);
    });
    test('the page\'s stylesheet and script are served with their types', async (t) => {
        const instance = await app(t);
        const css = await instance.inject({ method: 'GET', url: '/ui/upload.css' });
        assert.equal(css.statusCode, 200);
        assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
        const js = await instance.inject({ method: 'GET', url: '/ui/upload.js' });
        assert.equal(js.statusCode, 200);
        assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
        assert.match(js.body, /XMLHttpRequest/);
        for (const url of ['/ui/nope.js', '/ui/__proto__', '/ui/..%2Fpackage.json']) {
            const res = await instance.inject({ method: 'GET', url });
            assert.equal(res.statusCode, 404, url);
            assert.equal(res.json().code, 5);
        }
    });
    test('with resumable uploads on, the page loads tus-js-client\'s browser build from the bridge; off, it does not', async (t) => {
        const on = await app(t);
        const page = await on.inject({ method: 'GET', url: '/' });
        assert.ok(page.body.includes('data-upload-mode="resumable"'));
        assert.ok(page.body.includes('<script src="ui/tus.min.js" defer></script>'));
        const tus = await on.inject({ method: 'GET', url: '/ui/tus.min.js' });
        assert.equal(tus.statusCode, 200);
        assert.equal(tus.headers['content-type'], 'text/javascript; charset=utf-8');
        assert.equal(tus.body, readFileSync(TUS_BROWSER_BUILD, 'utf8'), 'served as the package ships it');
        const off = await app(t, { resumableUploads: false });
        const plain = await off.inject({ method: 'GET', url: '/' });
        assert.ok(plain.body.includes('data-upload-mode="multipart"'));
        assert.ok(!plain.body.includes('tus.min.js'));
        assert.equal((await off.inject({ method: 'GET', url: '/ui/tus.min.js' })).statusCode, 404);
    });
    test('UPLOAD_PAGE=false switches the page off', async (t) => {
        assert.equal(loadConfig({ UPLOAD_PAGE: 'false' }).uploadPage, false);
        const instance = await app(t, { uploadPage: false });
        for (const url of ['/', '/ui/upload.js', '/ui/tus.min.js']) {
            const res = await instance.inject({ method: 'GET', url });
            assert.equal(res.statusCode, 404, url);
            assert.equal(res.json().code, 5);
        }
    });
});
describe('CORS', () => {
    test('CORS_ALLOWED_ORIGINS is parsed into origins; anything else stops start-up naming the variable', () => {
        assert.deepEqual(loadConfig({}).corsAllowedOrigins, []);
        assert.deepEqual(loadConfig({ CORS_ALLOWED_ORIGINS: ' https://App.Example.com , http://localhost:3000/ ' }).corsAllowedOrigins, ['https://app.example.com', 'http://localhost:3000']);
        assert.deepEqual(loadConfig({ CORS_ALLOWED_ORIGINS: '*' }).corsAllowedOrigins, ['*']);
        for (const bad of ['https://app.example.com/upload', 'app.example.com', 'ftp://files.example.com', 'https://a.example?x=1']) {
            assert.throws(() => loadConfig({ CORS_ALLOWED_ORIGINS: bad }), (err) => err instanceof ConfigError && err.message.startsWith('CORS_ALLOWED_ORIGINS entry') && err.message.includes(JSON.stringify(bad)));
        }
        assert.throws(() => loadConfig({ UPLOAD_PAGE: 'maybe' }), /^ConfigError: UPLOAD_PAGE="maybe" is not true or false$/);
    });
    test('a preflight from an allowed origin lists the upload headers', async (t) => {
        const instance = await app(t, { corsAllowedOrigins: ['https://app.example.com'] });
        const res = await instance.inject(preflight('https://app.example.com', 'authorization,content-type,content-digest,x-request-id'));
        assert.equal(res.statusCode, 204);
        assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
        const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(', ');
        for (const h of ['authorization', 'content-type', 'content-digest', 'x-request-id', 'idempotency-key', 'x-signature-256', 'x-signature-timestamp']) {
            assert.ok(allowed.includes(h), `${h} is allowed`);
        }
        assert.match(String(res.headers['access-control-allow-methods']), /POST/);
        assert.match(String(res.headers['access-control-allow-methods']), /PUT/);
        assert.equal(res.headers['access-control-allow-credentials'], undefined);
        assert.match(String(res.headers.vary), /Origin/);
    });
    test('a disallowed origin, or a request with no Origin, gets no CORS header at all', async (t) => {
        const instance = await app(t, { corsAllowedOrigins: ['https://app.example.com'] });
        for (const origin of ['https://evil.example.com', 'http://app.example.com', 'https://app.example.com.evil.example']) {
            const res = await instance.inject(preflight(origin));
            assert.equal(res.statusCode, 404, origin);
            assert.deepEqual(corsHeaders(res.headers), [], origin);
            const get = await instance.inject({ method: 'GET', url: '/healthz', headers: { origin } });
            assert.deepEqual(corsHeaders(get.headers), [], origin);
        }
        const plain = await instance.inject({ method: 'GET', url: '/healthz' });
        assert.deepEqual(corsHeaders(plain.headers), []);
    });
    test('with CORS off (the default) a preflight is a 404 without CORS headers', async (t) => {
        const instance = await app(t);
        const res = await instance.inject(preflight('https://app.example.com'));
        assert.equal(res.statusCode, 404);
        assert.deepEqual(corsHeaders(res.headers), []);
    });
    test('`*` allows any origin without credentials', async (t) => {
        const instance = await app(t, { corsAllowedOrigins: ['*'] });
        const res = await instance.inject(preflight('https://anywhere.example'));
        assert.equal(res.statusCode, 204);
        assert.equal(res.headers['access-control-allow-origin'], '*');
        // `*` in Allow-Headers would not cover Authorization: it must be listed by name.
        assert.match(String(res.headers['access-control-allow-headers']), /\bAuthorization\b/);
    });
    test('uploads and refusals over a real socket carry the CORS headers and expose Repr-Digest and X-Request-Id', async (t) => {
        const origin = 'https://app.example.com';
        const stack = await startStack(t, { config: { corsAllowedOrigins: [origin] } });
        const ok = await request(`${stack.baseUrl}/v1/ignite/contexts/ctx.tar.gz`, {
            method: 'PUT', headers: { origin, 'want-repr-digest': 'sha-256=1' }, body: gzipLike(1000),
        });
        assert.equal(ok.statusCode, 200, await ok.body.text());
        assert.equal(ok.headers['access-control-allow-origin'], origin);
        const exposed = String(ok.headers['access-control-expose-headers']).toLowerCase().split(', ');
        assert.ok(exposed.includes('repr-digest') && exposed.includes('x-request-id'), exposed.join());
        assert.ok(ok.headers['repr-digest']);
        const refused = await request(`${stack.baseUrl}/v1/ignite/contexts/notes.txt`, { method: 'PUT', headers: { origin }, body: 'plain text' });
        assert.equal(refused.statusCode, 415);
        assert.equal(refused.headers['access-control-allow-origin'], origin, 'the page can read the error message');
        assert.equal((await refused.body.json()).code, 3);
    });
    test('a refused origin is logged once, at info, with the list it was checked against; the page\'s own origin and allowed ones are not', async (t) => {
        const logs = [];
        const instance = await app(t, { corsAllowedOrigins: ['https://app.example.com', 'http://localhost:3000'] }, logs);
        const refusals = () => logs.filter((line) => typeof line['msg'] === 'string' && line['msg'].startsWith('CORS: '));
        for (let i = 0; i < 3; i++)
            assert.equal((await instance.inject(preflight('https://evil.example.com'))).statusCode, 404);
        await instance.inject({ method: 'POST', url: '/v1/ignite/contexts', headers: { origin: 'https://evil.example.com', 'content-type': 'text/plain' }, payload: 'x' });
        await instance.inject(preflight('https://app.example.com'));
        // The bridge's own page sends its Origin on a POST; it needs no CORS (Host localhost:80 is http://localhost).
        await instance.inject({ method: 'GET', url: '/healthz', headers: { origin: 'http://localhost', host: 'localhost:80' } });
        await instance.inject(preflight('http://app.example.com'));
        assert.deepEqual(refusals().map((line) => [line['level'], line['origin'], line['corsAllowedOrigins']]), [
            [30, 'https://evil.example.com', ['https://app.example.com', 'http://localhost:3000']],
            [30, 'http://app.example.com', ['https://app.example.com', 'http://localhost:3000']],
        ]);
        assert.equal(refusals()[0]['msg'], 'CORS: origin https://evil.example.com is not in CORS_ALLOWED_ORIGINS=https://app.example.com,http://localhost:3000, so browsers block its pages\' uploads (they report a network error); add it to CORS_ALLOWED_ORIGINS to allow them. Logged once per origin.');
        assert.equal(refusals()[0]['method'], 'OPTIONS');
    });
    test('with CORS off the refusal names the empty list; past the cap of remembered origins one line says so and no more follow', async (t) => {
        const logs = [];
        const instance = await app(t, {}, logs);
        const refusals = () => logs.filter((line) => typeof line['msg'] === 'string' && line['msg'].startsWith('CORS: '));
        for (let i = 0; i < REFUSED_ORIGINS_LOGGED + 5; i++)
            await instance.inject(preflight(`https://site-${i}.example.com`));
        await instance.inject(preflight('https://site-0.example.com'));
        const lines = refusals();
        assert.equal(lines.length, REFUSED_ORIGINS_LOGGED + 1);
        assert.match(lines[0]['msg'], /^CORS: origin https:\/\/site-0\.example\.com is not in CORS_ALLOWED_ORIGINS=\(empty: CORS is off\)/);
        assert.deepEqual(lines[0]['corsAllowedOrigins'], []);
        assert.equal(lines.at(-1)['msg'], `CORS: ${REFUSED_ORIGINS_LOGGED} refused origins were logged; further ones are not`);
    });
});
//# sourceMappingURL=upload-page-and-cors.test.js.map