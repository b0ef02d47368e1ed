import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { ConfigError, configWith } from '../src/config.js';
import { loggerOptions } from '../src/observability/logger.js';
import { upstreamChannelOptions, upstreamCredentials } from '../src/grpc/upstream-channel.js';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';
const run = promisify(execFile);
/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA: made with openssl at test time. */
async function makePki() {
    const dir = await mkdtemp(join(tmpdir(), 'bridge-pki-'));
    const path = (name) => join(dir, name);
    const openssl = (...args) => run('openssl', args, { cwd: dir });
    const newKey = (name) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(name));
    for (const ca of ['ca', 'other-ca']) {
        await newKey(`${ca}.key`);
        await openssl('req', '-x509', '-new', '-key', path(`${ca}.key`), '-subj', `/CN=test ${ca}`, '-days', '2', '-out', path(`${ca}.pem`), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    }
    const issue = async (name, cn, ext) => {
        await newKey(`${name}.key`);
        await openssl('req', '-new', '-key', path(`${name}.key`), '-subj', `/CN=${cn}`, '-out', path(`${name}.csr`));
        await writeFile(path(`${name}.ext`), ext);
        await openssl('x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', path(`${name}.ext`), '-out', path(`${name}.pem`));
    };
    await issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await issue('client', 'bridge', 'extendedKeyUsage=clientAuth\n');
    return {
        dir,
        caCert: path('ca.pem'),
        otherCaCert: path('other-ca.pem'),
        serverCert: path('server.pem'),
        serverKey: path('server.key'),
        clientCert: path('client.pem'),
        clientKey: path('client.key'),
    };
}
function tlsConfig(overrides) {
    return configWith({ grpcTls: true, ...overrides });
}
describe('TLS to the upstream', () => {
    let pki;
    before(async () => {
        pki = await makePki();
    });
    after(() => rm(pki.dir, { recursive: true, force: true }));
    const serverTls = async (mtls = false) => ({
        cert: await readFile(pki.serverCert),
        key: await readFile(pki.serverKey),
        ...(mtls ? { clientCa: await readFile(pki.caCert) } : {}),
    });
    test('a private CA: the upload goes through TLS and is stored', async (t) => {
        const stack = await startStack(t, {
            reference: { tls: await serverTls() },
            // The production channel: keepalive options included.
            upstream: {
                credentials: upstreamCredentials(tlsConfig({ grpcCaFile: pki.caCert })),
                channelOptions: upstreamChannelOptions(tlsConfig({ grpcKeepaliveTimeMs: 10_000 })),
            },
        });
        const archive = gzipLike(600_000);
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts/tls.tar.gz`, { method: 'PUT', body: archive });
        const body = await res.body.json();
        assert.equal(res.statusCode, 200, JSON.stringify(body));
        assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(archive));
    });
    test('a wrong CA: a clear 503 naming the certificate problem, and an error log line', async (t) => {
        const lines = [];
        const stack = await startStack(t, {
            reference: { tls: await serverTls() },
            upstream: { credentials: upstreamCredentials(tlsConfig({ grpcCaFile: pki.otherCaCert })) },
            logger: loggerOptions(configWith(), { write: (line) => void lines.push(line) }),
        });
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts/tls.tar.gz`, { method: 'PUT', body: gzipLike(100_000) });
        const body = await res.body.json();
        assert.equal(res.statusCode, 503);
        assert.equal(body.code, 14);
        assert.match(body.message, /UNAVAILABLE/);
        assert.match(body.message, /certificate/i);
        assert.deepEqual(body.details, [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'UPSTREAM_UNAVAILABLE', domain: 'ignite-upload-bridge', metadata: {} }]);
        const errors = lines.map((l) => JSON.parse(l)).filter((r) => r.level >= 50);
        assert.ok(errors.some((r) => /certificate/i.test(r.msg)), `no error log line names the certificate: ${lines.join('')}`);
        assert.equal(stack.observed.length, 0, 'nothing reached the upstream');
    });
    test('mTLS: the client certificate is presented; without it the upstream refuses the connection', async (t) => {
        const withCert = await startStack(t, {
            reference: { tls: await serverTls(true) },
            upstream: { credentials: upstreamCredentials(tlsConfig({ grpcCaFile: pki.caCert, grpcCertFile: pki.clientCert, grpcKeyFile: pki.clientKey })) },
        });
        const ok = await request(`${withCert.baseUrl}/v1/ignite/contexts/mtls.tar.gz`, { method: 'PUT', body: gzipLike(10_000) });
        assert.equal(ok.statusCode, 200, await ok.body.text());
        const withoutCert = await startStack(t, {
            reference: { tls: await serverTls(true) },
            upstream: { credentials: upstreamCredentials(tlsConfig({ grpcCaFile: pki.caCert })) },
        });
        const refused = await request(`${withoutCert.baseUrl}/v1/ignite/contexts/mtls.tar.gz`, { method: 'PUT', body: gzipLike(10_000) });
        assert.equal(refused.statusCode, 503, await refused.body.text());
    });
    test('TLS settings that cannot work stop start-up with one line naming the variable', () => {
        const refuses = (overrides, variable) => assert.throws(() => upstreamCredentials(configWith(overrides)), (err) => err instanceof ConfigError && variable.test(err.message));
        refuses({ grpcCaFile: pki.caCert }, /IGNITE_GRPC_CA_FILE .*IGNITE_GRPC_TLS/);
        refuses({ grpcTls: true, grpcCertFile: pki.clientCert }, /IGNITE_GRPC_CERT_FILE is set without IGNITE_GRPC_KEY_FILE/);
        refuses({ grpcTls: true, grpcCaFile: join(pki.dir, 'missing.pem') }, /IGNITE_GRPC_CA_FILE=.*missing\.pem.*ENOENT/);
        refuses({ grpcTls: true, grpcCaFile: join(pki.dir, 'server.ext') }, /IGNITE_GRPC_CA_FILE=.*no PEM/);
    });
});
//# sourceMappingURL=upstream-tls.test.js.map