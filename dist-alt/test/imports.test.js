import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { BridgeError } from '../src/errors.js';
import { openDownload } from '../src/imports/download.js';
import { spawnBridge } from './bridge-process.js';
import { assertRefusal, dataDirEntries, gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { head, RawClient } from './raw-http.js';
import { startReference } from './reference-helpers.js';
import { signatureHeaders, sleep, startSource } from './webhook-helpers.js';
const LOCAL = { importAllowHttp: true, importAllowPrivateAddresses: true };
async function importFrom(stack, payload, headers = {}) {
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, {
        method: 'POST',
        body: typeof payload === 'string' ? payload : JSON.stringify(payload),
        headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}
/** A source serving `archive` at /ctx.tar.gz (with Content-Length) and /chunked.tar.gz (without). */
function archiveSource(t, archive, host) {
    return startSource(t, (req, res) => {
        if (req.url === '/ctx.tar.gz') {
            res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length });
            res.end(archive);
        }
        else if (req.url === '/chunked.tar.gz') {
            res.writeHead(200, { 'content-type': 'application/gzip' });
            res.write(archive.subarray(0, 1000));
            setTimeout(() => res.end(archive.subarray(1000)), 20);
        }
        else {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('no such file here');
        }
    }, host);
}
/** A resolver that records its calls and answers from a table. */
function tableResolver(table) {
    const calls = [];
    const resolve = async (hostname) => {
        const answers = table[hostname];
        if (!answers)
            throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
        const n = calls.filter((c) => c === hostname).length;
        calls.push(hostname);
        return answers[Math.min(n, answers.length - 1)];
    };
    return Object.assign(resolve, { calls });
}
const v4 = (address) => ({ address, family: 4 });
describe('import from a URL', () => {
    test('synchronous import stores exactly the downloaded bytes and forwards the caller\'s headers to the source', async (t) => {
        const archive = gzipLike(3 * 524288 + 11);
        const source = await archiveSource(t, archive);
        const stack = await startStack(t, { config: LOCAL });
        for (const path of ['/ctx.tar.gz', '/chunked.tar.gz']) {
            const want = path === '/ctx.tar.gz';
            const reply = await importFrom(stack, { url: `${source.origin}${path}`, name: `from${path}`, headers: { authorization: 'Bearer source-token' } }, want ? { 'want-repr-digest': 'sha-256=1' } : {});
            assert.equal(reply.status, 200, JSON.stringify(reply.body));
            assert.equal(reply.body['sizeBytes'], String(archive.length));
            assert.equal(sha256(await storedBytes(stack, String(reply.body['contextId']))), sha256(archive));
            assert.equal(reply.headers['repr-digest'], want ? `sha-256=:${Buffer.from(sha256(archive), 'hex').toString('base64')}:` : undefined);
            const seen = stack.observed.find((o) => o.contextId === reply.body['contextId']);
            assert.deepEqual(seen?.metadata, { name: `from${path}`, contentType: 'application/gzip', expectedSizeBytes: path === '/ctx.tar.gz' ? String(archive.length) : '0' });
            assert.equal(source.requests.at(-1)?.headers.authorization, 'Bearer source-token');
        }
        const metrics = await (await request(`${stack.baseUrl}/metrics`)).body.text();
        assert.match(metrics, /ignite_bridge_uploads_total\{[^}]*mode="import"[^}]*outcome="ok"[^}]*\} 2/);
    });
    test('Prefer: respond-async answers 202 with a status URL that reports the result', async (t) => {
        const archive = gzipLike(524288 + 3);
        const source = await archiveSource(t, archive);
        const stack = await startStack(t, { config: LOCAL });
        const reply = await importFrom(stack, { url: `${source.origin}/chunked.tar.gz`, name: 'async.tar.gz' }, { prefer: 'respond-async, wait=0' });
        assert.equal(reply.status, 202, JSON.stringify(reply.body));
        const statusUrl = String(reply.body['statusUrl']);
        assert.equal(reply.headers['location'], statusUrl);
        assert.match(statusUrl, /^\/v1\/ignite\/imports\/imp_[0-9a-f-]{36}$/);
        assert.deepEqual(Object.keys(reply.body).sort(), ['importId', 'status', 'statusUrl']);
        let status = {};
        for (let i = 0; i < 200; i++) {
            const res = await request(`${stack.baseUrl}${statusUrl}`);
            status = await res.body.json();
            assert.equal(res.statusCode, 200);
            if (status['status'] === 'succeeded' || status['status'] === 'failed')
                break;
            await sleep(20);
        }
        assert.equal(status['status'], 'succeeded', JSON.stringify(status));
        assert.equal(status['importId'], reply.body['importId']);
        const result = status['result'];
        assert.equal(result.sizeBytes, String(archive.length));
        assert.equal(sha256(await storedBytes(stack, result.contextId)), sha256(archive));
        const unknown = await request(`${stack.baseUrl}/v1/ignite/imports/imp_nope`);
        assert.equal(unknown.statusCode, 404);
        assert.equal((await unknown.body.json()).code, 5);
    });
    test('an asynchronous import that fails reports the error in its status', async (t) => {
        const source = await archiveSource(t, gzipLike(100));
        const stack = await startStack(t, { config: LOCAL });
        const reply = await importFrom(stack, { url: `${source.origin}/missing.tar.gz`, name: 'x.tar.gz' }, { prefer: 'respond-async' });
        assert.equal(reply.status, 202);
        let status = {};
        for (let i = 0; i < 200 && status['status'] !== 'failed'; i++) {
            await sleep(20);
            status = await (await request(`${stack.baseUrl}${String(reply.body['statusUrl'])}`)).body.json();
        }
        assert.equal(status['status'], 'failed');
        const error = status['error'];
        assert.equal(error.code, 14);
        assert.match(error.message, /answered 404 Not Found: no such file here/);
        assert.deepEqual(error.details, [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IMPORT_SOURCE_FAILED', domain: 'ignite-upload-bridge', metadata: {} }]);
    });
    test('with default settings, loopback, private, link-local and IPv6 forms of them are refused before any connection', async (t) => {
        const archive = gzipLike(100);
        const v4Source = await archiveSource(t, archive);
        const v6Source = await archiveSource(t, archive, '::1');
        const stack = await startStack(t);
        const p4 = v4Source.port;
        const p6 = v6Source.port;
        const refused = [
            [`https://127.0.0.1:${p4}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback address/],
            [`https://localhost:${p4}/ctx.tar.gz`, /is a loopback address \(localhost resolves to it\)/],
            ['https://10.1.2.3/ctx.tar.gz', /10\.1\.2\.3 is a private/],
            ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
            ['https://100.64.0.1/ctx.tar.gz', /carrier-grade NAT/],
            [`https://[::1]:${p6}/ctx.tar.gz`, /::1 is a loopback address/],
            [`https://[::ffff:127.0.0.1]:${p4}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback address/],
            [`https://[::ffff:7f00:1]:${p4}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback address/],
            [`https://[fd00::1]:${p6}/ctx.tar.gz`, /unique-local/],
            ['https://[::7f00:1]/ctx.tar.gz', /special-purpose range \(ipv4Compatible\)/],
            [`https://0.0.0.0:${p4}/ctx.tar.gz`, /unspecified/],
            // The WHATWG URL parser turns these spellings into 127.0.0.1 before the check sees them.
            [`https://2130706433:${p4}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback address/],
            [`https://0x7f.1:${p4}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback address/],
        ];
        for (const [url, message] of refused) {
            assertRefusal(await importFrom(stack, { url, name: 'x.tar.gz' }), 403, 7, message);
        }
        // http is refused by scheme first (400), whatever the address.
        assertRefusal(await importFrom(stack, { url: `http://127.0.0.1:${p4}/ctx.tar.gz`, name: 'x.tar.gz' }), 400, 3, /scheme "http" is not allowed/);
        assert.equal(v4Source.connections + v6Source.connections, 0, 'no connection reached a refused address');
        assert.equal(stack.observed.length, 0);
    });
    test('http allowed but private addresses not: still refused without a connection', async (t) => {
        const source = await archiveSource(t, gzipLike(100));
        const stack = await startStack(t, { config: { importAllowHttp: true } });
        assertRefusal(await importFrom(stack, { url: `${source.origin}/ctx.tar.gz`, name: 'x.tar.gz' }), 403, 7, /loopback/);
        assert.equal(source.connections, 0);
    });
    test('a host resolving to a public and a private address is refused, whichever comes first', async (t) => {
        const resolver = tableResolver({
            'mixed.example': [[v4('93.184.216.34'), v4('10.0.0.7')]],
            'mixed-v6.example': [[{ address: '2606:4700::6810:85e5', family: 6 }, { address: '::ffff:169.254.169.254', family: 6 }]],
            'private-first.example': [[v4('192.168.1.1'), v4('93.184.216.34')]],
        });
        const stack = await startStack(t, { imports: { resolveHost: resolver } });
        assertRefusal(await importFrom(stack, { url: 'https://mixed.example/ctx.tar.gz', name: 'x.tar.gz' }), 403, 7, /10\.0\.0\.7 is a private .*mixed\.example resolves to it/);
        assertRefusal(await importFrom(stack, { url: 'https://mixed-v6.example/ctx.tar.gz', name: 'x.tar.gz' }), 403, 7, /169\.254\.169\.254 is a link-local/);
        assertRefusal(await importFrom(stack, { url: 'https://private-first.example/ctx.tar.gz', name: 'x.tar.gz' }), 403, 7, /192\.168\.1\.1 is a private/);
        assert.deepEqual(resolver.calls, ['mixed.example', 'mixed-v6.example', 'private-first.example'], 'each host resolved once');
    });
    test('the connection is pinned to the checked address: a second DNS answer is never used', async (t) => {
        const archive = gzipLike(4096);
        const source = await archiveSource(t, archive);
        // The system resolver knows no *.test name, so a success proves the socket connected where the check said.
        const resolver = tableResolver({ 'pinned.test': [[v4('127.0.0.1')], [v4('10.255.255.1')]] });
        const stack = await startStack(t, { config: LOCAL, imports: { resolveHost: resolver } });
        const reply = await importFrom(stack, { url: `http://pinned.test:${source.port}/ctx.tar.gz`, name: 'pinned.tar.gz' });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.deepEqual(resolver.calls, ['pinned.test']);
        assert.equal(source.requests[0]?.headers.host, `pinned.test:${source.port}`);
        assert.equal(sha256(await storedBytes(stack, String(reply.body['contextId']))), sha256(archive));
    });
    test('a redirect to a refused address is refused before connecting (every hop is checked)', async (t) => {
        const target4 = await archiveSource(t, gzipLike(100));
        const target6 = await archiveSource(t, gzipLike(100), '::1');
        const redirector = await startSource(t, (req, res) => {
            const to = new URL(req.url, 'http://x').searchParams.get('to');
            res.writeHead(302, { location: to });
            res.end();
        });
        const resolver = tableResolver({ 'rebind.example': [[v4('93.184.216.34'), v4('127.0.0.1')]] });
        // The first hop stands for a public server that passed the check; the bridge's policy is the default one.
        const policy = { allowHttp: true, allowPrivateAddresses: false, allowedHosts: [], resolveHost: resolver };
        const targets = [
            [`http://127.0.0.1:${target4.port}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback/],
            ['http://10.0.0.1/ctx.tar.gz', /10\.0\.0\.1 is a private/],
            ['http://169.254.169.254/latest/meta-data/', /link-local/],
            [`http://[::1]:${target6.port}/ctx.tar.gz`, /::1 is a loopback/],
            [`http://[::ffff:127.0.0.1]:${target4.port}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback/],
            [`http://rebind.example:${target4.port}/ctx.tar.gz`, /127\.0\.0\.1 is a loopback/],
        ];
        for (const [to, message] of targets) {
            const first = { url: new URL(`${redirector.origin}/?to=${encodeURIComponent(to)}`), addresses: [v4('127.0.0.1')] };
            await assert.rejects(openDownload(first, {}, policy, AbortSignal.timeout(5000)), (err) => {
                assert.ok(err instanceof BridgeError);
                assert.equal(err.httpStatus, 403);
                assert.equal(err.grpcCode, 7);
                assert.match(err.message, message);
                assert.match(err.message, /a redirect from http:\/\/127\.0\.0\.1/);
                return true;
            });
        }
        assert.equal(redirector.requests.length, targets.length, 'the allowed first hop was fetched');
        assert.equal(target4.connections + target6.connections, 0, 'no redirect target was connected to');
    });
    test('redirects: followed up to 3, source headers dropped when leaving the origin, host allow-list applies to each hop', async (t) => {
        const archive = gzipLike(2048);
        const final = await archiveSource(t, archive);
        const redirector = await startSource(t, (req, res) => {
            const url = new URL(req.url, 'http://x');
            if (url.pathname === '/final') {
                res.writeHead(404);
                res.end('the end of the chain');
                return;
            }
            const hops = Number(url.searchParams.get('hops') ?? '0');
            const to = url.searchParams.get('to');
            const location = hops > 1 ? `/?hops=${hops - 1}&to=${encodeURIComponent(to)}` : to;
            res.writeHead(hops % 2 ? 301 : 307, { location });
            res.end();
        });
        const resolver = tableResolver({
            'source.test': [[v4('127.0.0.1')]],
            'other.test': [[v4('127.0.0.1')]],
        });
        const stack = await startStack(t, { config: { ...LOCAL, importAllowedHosts: ['source.test', 'other.test', '127.0.0.1'] }, imports: { resolveHost: resolver } });
        const headers = { authorization: 'Bearer for-the-source-only' };
        const sameOrigin = await importFrom(stack, { url: `http://source.test:${redirector.port}/?hops=3&to=${encodeURIComponent(`http://source.test:${redirector.port}/final`)}`, name: 'a.tar.gz', headers });
        assertRefusal(sameOrigin, 502, 14, /\/final answered 404 Not Found: the end of the chain/); // three hops followed
        assert.equal(redirector.requests.at(-1)?.url, '/final');
        assert.equal(redirector.requests.at(-1)?.headers.authorization, headers.authorization, 'kept on the same origin');
        const crossOrigin = await importFrom(stack, { url: `http://source.test:${redirector.port}/?hops=2&to=${encodeURIComponent(`http://other.test:${final.port}/ctx.tar.gz`)}`, name: 'b.tar.gz', headers });
        assert.equal(crossOrigin.status, 200, JSON.stringify(crossOrigin.body));
        assert.equal(sha256(await storedBytes(stack, String(crossOrigin.body['contextId']))), sha256(archive));
        assert.equal(final.requests.length, 1);
        assert.equal(final.requests[0].headers.authorization, undefined, 'dropped when the redirect left the origin');
        const tooMany = await importFrom(stack, { url: `http://source.test:${redirector.port}/?hops=4&to=${encodeURIComponent(`http://other.test:${final.port}/ctx.tar.gz`)}`, name: 'c.tar.gz' });
        assertRefusal(tooMany, 502, 14, /redirected more than 3 times/);
        assert.equal(final.requests.length, 1, 'the fourth redirect was not followed');
        const elsewhere = await importFrom(stack, { url: `http://source.test:${redirector.port}/?hops=1&to=${encodeURIComponent(`http://localhost:${final.port}/ctx.tar.gz`)}`, name: 'd.tar.gz' });
        assertRefusal(elsewhere, 403, 7, /The host localhost \(a redirect from http:\/\/source\.test:\d+\/\) is not in IMPORT_ALLOWED_HOSTS/);
        assert.equal(final.requests.length, 1);
        assertRefusal(await importFrom(stack, { url: 'http://example.com/ctx.tar.gz', name: 'e.tar.gz' }), 403, 7, /example\.com is not in IMPORT_ALLOWED_HOSTS/);
    });
    test('a source error, an unreachable source and a failed TLS handshake are 502 naming what happened', async (t) => {
        const source = await archiveSource(t, gzipLike(100));
        const stack = await startStack(t, { config: LOCAL });
        assertRefusal(await importFrom(stack, { url: `${source.origin}/nope.tar.gz`, name: 'x.tar.gz' }), 502, 14, /GET http:\/\/127\.0\.0\.1:\d+\/nope\.tar\.gz answered 404 Not Found: no such file here/);
        const closed = await startSource(t, () => { });
        const port = closed.port;
        await new Promise((resolve) => closed.server.close(() => resolve()));
        assertRefusal(await importFrom(stack, { url: `http://127.0.0.1:${port}/ctx.tar.gz`, name: 'x.tar.gz' }), 502, 14, /ECONNREFUSED/);
        const dir = await mkdtemp(join(tmpdir(), 'bridge-tls-'));
        await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
            '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
        const tls = createHttpsServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (_req, res) => res.end('never'));
        await new Promise((resolve) => tls.listen(0, '127.0.0.1', resolve));
        t.after(() => new Promise((resolve) => tls.close(() => resolve())));
        const tlsPort = tls.address().port;
        assertRefusal(await importFrom(stack, { url: `https://127.0.0.1:${tlsPort}/ctx.tar.gz`, name: 'x.tar.gz' }), 502, 14, /SELF_SIGNED|self.signed/i);
        assert.equal(stack.observed.length, 0);
    });
    test('https: the certificate is checked against the URL\'s host name (sent as SNI), while the socket goes to the checked address', async (t) => {
        const dir = await mkdtemp(join(tmpdir(), 'bridge-import-pki-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const openssl = (...args) => promisify(execFile)('openssl', args, { cwd: dir });
        await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=test import CA', '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
        // A name only, no IP: verifying against the address the socket used would fail.
        for (const [name, san] of [['localhost', 'DNS:localhost'], ['elsewhere', 'DNS:elsewhere.test']]) {
            await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
            await writeFile(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
            await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
        }
        const archive = gzipLike(300 * 1024);
        const servernames = [];
        const serve = async (name) => {
            const server = createHttpsServer({ key: await readFile(join(dir, `${name}.key`)), cert: await readFile(join(dir, `${name}.pem`)) }, (req, res) => {
                servernames.push(req.socket.servername);
                res.writeHead(200, { 'content-length': archive.length });
                res.end(archive);
            });
            await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
            t.after(() => new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }));
            return server.address().port;
        };
        const [right, wrong] = [await serve('localhost'), await serve('elsewhere')];
        const reference = await startReference(t);
        // The CA is trusted the way an operator would do it; the process reads it at start.
        const bridge = await spawnBridge(t, { IGNITE_GRPC_TARGET: reference.target, IMPORT_ALLOW_PRIVATE_ADDRESSES: 'true', NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') });
        const stack = { baseUrl: bridge.url };
        const reply = await importFrom(stack, { url: `https://localhost:${right}/ctx.tar.gz`, name: 'tls.tar.gz' });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(sha256(await readFile(reference.store.path(String(reply.body['contextId'])))), sha256(archive));
        assert.deepEqual(servernames, ['localhost']);
        assertRefusal(await importFrom(stack, { url: `https://localhost:${wrong}/ctx.tar.gz`, name: 'x.tar.gz' }), 502, 14, /ERR_TLS_CERT_ALTNAME_INVALID.*localhost/);
        // An IP literal is checked as the IP, with no SNI (RFC 6066 allows none for an address).
        assertRefusal(await importFrom(stack, { url: `https://127.0.0.1:${right}/ctx.tar.gz`, name: 'x.tar.gz' }), 502, 14, /ERR_TLS_CERT_ALTNAME_INVALID.*127\.0\.0\.1/);
        assert.deepEqual(servernames, ['localhost'], 'the refused handshakes sent no request');
    });
    test('oversize downloads are cut off with 413 and store nothing', async (t) => {
        const big = gzipLike(2 * 1024 * 1024);
        const source = await archiveSource(t, big);
        const stack = await startStack(t, { config: { ...LOCAL, maxContextBytes: 1024 * 1024 } });
        assertRefusal(await importFrom(stack, { url: `${source.origin}/ctx.tar.gz`, name: 'big.tar.gz' }), 413, 3, /larger than the limit of 1048576 bytes/);
        assert.equal(stack.observed.length, 0, 'refused by Content-Length before the upstream was called');
        const cancelled = stack.nextObservation();
        assertRefusal(await importFrom(stack, { url: `${source.origin}/chunked.tar.gz`, name: 'big.tar.gz' }), 413, 3, /larger than the limit/);
        assert.notEqual((await cancelled).outcome, 'stored');
        assert.deepEqual(await dataDirEntries(stack), []);
    });
    test('a download slower than IMPORT_TIMEOUT_MS is cut off with 504 and stores nothing', async (t) => {
        const archive = gzipLike(524288 * 2);
        const source = await startSource(t, (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/gzip' });
            res.write(archive.subarray(0, 524288 + 10)); // then stalls forever
        });
        const stack = await startStack(t, { config: { ...LOCAL, importTimeoutMs: 700 } });
        const cancelled = stack.nextObservation();
        const started = Date.now();
        assertRefusal(await importFrom(stack, { url: `${source.origin}/slow.tar.gz`, name: 'slow.tar.gz' }), 504, 4, /within 700 ms \(IMPORT_TIMEOUT_MS\)/);
        assert.ok(Date.now() - started < 10_000);
        assert.equal((await cancelled).outcome, 'cancelled');
        assert.deepEqual(await dataDirEntries(stack), []);
        // A source that never answers: the limit also covers the wait for the response head, and the connection is let go.
        let letGo;
        const connectionClosed = new Promise((resolve) => { letGo = resolve; });
        const silent = await startSource(t, (req) => req.socket.once('close', letGo));
        assertRefusal(await importFrom(stack, { url: `${silent.origin}/silent.tar.gz`, name: 'silent.tar.gz' }), 504, 4, /within 700 ms \(IMPORT_TIMEOUT_MS\)/);
        await connectionClosed;
        assert.equal(stack.observed.length, 1, 'no upstream call for a download that never started');
    });
    test('malformed requests are 400 naming the field; with WEBHOOK_SECRET an import needs a signature or a token', async (t) => {
        const archive = gzipLike(4096);
        const source = await archiveSource(t, archive);
        const secret = 'import-secret';
        const stack = await startStack(t, { config: { ...LOCAL, webhookSecret: secret, serviceToken: 'svc' }, reference: { token: 'svc' } });
        const auth = { authorization: 'Bearer svc' };
        assertRefusal(await importFrom(stack, '{"url": ', auth), 400, 3, /not valid JSON/);
        assertRefusal(await importFrom(stack, { name: 'x.tar.gz' }, auth), 400, 3, /"url" is missing/);
        assertRefusal(await importFrom(stack, { url: `${source.origin}/ctx.tar.gz` }, auth), 400, 3, /"name" is missing/);
        assertRefusal(await importFrom(stack, { url: 'not a url', name: 'x.tar.gz' }, auth), 400, 3, /not an absolute URL/);
        assertRefusal(await importFrom(stack, { url: 'ftp://example.com/x', name: 'x.tar.gz' }, auth), 400, 3, /scheme "ftp"/);
        assertRefusal(await importFrom(stack, { url: `http://user:pw@127.0.0.1:${source.port}/ctx.tar.gz`, name: 'x.tar.gz' }, auth), 400, 3, /user name or password/);
        assertRefusal(await importFrom(stack, { url: `${source.origin}/ctx.tar.gz`, name: 'x.tar.gz', headers: { host: 'evil' } }, auth), 400, 3, /may not set host/);
        assertRefusal(await importFrom(stack, { url: `${source.origin}/ctx.tar.gz`, name: 'x.tar.gz', extra: 1 }, auth), 400, 3, /Unknown field "extra"/);
        const plain = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, { method: 'POST', body: 'url=x', headers: { ...auth, 'content-type': 'text/plain' } });
        assert.equal(plain.statusCode, 400);
        await plain.body.dump();
        assert.equal(source.requests.length, 0);
        const payload = Buffer.from(JSON.stringify({ url: `${source.origin}/ctx.tar.gz`, name: 'signed.tar.gz' }));
        assertRefusal(await importFrom(stack, payload.toString()), 401, 16, /neither a signature nor an Authorization/);
        assertRefusal(await importFrom(stack, payload.toString(), signatureHeaders('wrong', payload)), 401, 16, /does not match/);
        assert.equal(source.requests.length, 0, 'nothing was fetched for an unauthenticated import');
        const signed = await importFrom(stack, payload.toString(), signatureHeaders(secret, payload));
        assert.equal(signed.status, 200, JSON.stringify(signed.body));
        assert.equal(sha256(await storedBytes(stack, String(signed.body['contextId']))), sha256(archive));
    });
});
describe('the import request itself', () => {
    test('Expect: 100-continue is granted, and a JSON body that never completes is a 408', async (t) => {
        const stack = await startStack(t, { config: { uploadIdleTimeoutMs: 500 } });
        const json = JSON.stringify({ url: 'https://127.0.0.1/x.tar.gz', name: 'x.tar.gz' });
        const granted = await RawClient.connect(stack.baseUrl);
        await granted.write(head('POST', '/v1/ignite/contexts:import', { 'content-type': 'application/json', 'content-length': json.length, expect: '100-continue' }));
        assert.equal(await granted.firstReply(), 100);
        await granted.write(json);
        assert.equal((await granted.response()).status, 403, 'the request then runs as usual');
        granted.socket.destroy();
        const stalled = await RawClient.connect(stack.baseUrl);
        await stalled.write(head('POST', '/v1/ignite/contexts:import', { 'content-type': 'application/json', 'content-length': 1000 }));
        await stalled.write('{"url": "https://exa');
        const reply = await stalled.response(10_000);
        assert.equal(reply.status, 408);
        assert.equal(reply.json.code, 4);
        assert.match(reply.headers['connection'] ?? '', /close/);
    });
});
//# sourceMappingURL=imports.test.js.map