import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { describeSettings } from '../src/config.js';
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
/** Runs the real entry point with only the given environment (plus PATH), to its exit. */
function runMain(env, args = []) {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d.toString()));
        child.stderr.on('data', (d) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.on('error', reject);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}
describe('start-up', () => {
    test('--help prints every setting with its default and exits 0, with nothing on stderr', async () => {
        const { code, stdout, stderr } = await runMain({}, ['--help']);
        assert.equal(code, 0, stderr);
        // The entry point sets V8 flags first: one this Node's V8 does not know would print "unrecognized flag" here.
        assert.equal(stderr, '');
        for (const setting of describeSettings()) {
            const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`${setting.env} `));
            assert.ok(line, `--help does not list ${setting.env}`);
            assert.ok(line.includes(`(default: ${setting.default === '' ? 'unset' : setting.default})`), `${setting.env}: ${line}`);
        }
    });
    const badSettings = [
        [{ PORT: 'eighty' }, 'PORT'],
        [{ MAX_CONCURRENT_UPLOADS: '0' }, 'MAX_CONCURRENT_UPLOADS'],
        [{ IGNITE_GRPC_TLS: 'yes please' }, 'IGNITE_GRPC_TLS'],
        [{ TRUST_PROXY: 'the balancer' }, 'TRUST_PROXY'],
        [{ IGNITE_GRPC_KEEPALIVE_TIME_MS: '5' }, 'IGNITE_GRPC_KEEPALIVE_TIME_MS'],
        [{ IGNITE_GRPC_TARGET: 'upstream:443', IGNITE_GRPC_TLS: 'true', IGNITE_GRPC_CA_FILE: '/nonexistent/ca.pem' }, 'IGNITE_GRPC_CA_FILE'],
        [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
        [{ POD_IP: 'pod-1' }, 'POD_IP'],
    ];
    for (const [env, name] of badSettings) {
        test(`a bad ${name} stops start-up with one line naming it`, async () => {
            const { code, stdout, stderr } = await runMain({ PORT: '0', ...env });
            assert.notEqual(code, 0);
            assert.equal(stdout, '');
            const lines = stderr.trim().split('\n');
            assert.equal(lines.length, 1, stderr);
            assert.match(lines[0], new RegExp(`^ignite-upload-bridge: ${name}[= ]`));
        });
    }
    test('a bad REDIS_URL is named, but its password is never printed', async () => {
        const { code, stderr } = await runMain({ PORT: '0', REDIS_URL: 'redis://:s3cret-pw@cache:6379/not-a-db' });
        assert.notEqual(code, 0);
        assert.match(stderr, /^ignite-upload-bridge: REDIS_URL is not a Redis URL/);
        assert.doesNotMatch(stderr, /s3cret-pw/);
    });
    test('an open data sink is refused: a non-loopback HOST with the embedded upstream and no token', async () => {
        const { code, stderr } = await runMain({ HOST: '0.0.0.0', PORT: '0' });
        assert.notEqual(code, 0);
        const lines = stderr.trim().split('\n');
        assert.equal(lines.length, 1, stderr);
        assert.match(lines[0], /HOST=0\.0\.0\.0 .*IGNITE_REFERENCE_TOKEN/);
    });
    test('with IGNITE_REFERENCE_TOKEN the same HOST starts and answers /healthz', async (t) => {
        const dataDir = await mkdtemp(join(tmpdir(), 'bridge-start-'));
        t.after(() => rm(dataDir, { recursive: true, force: true }));
        const child = spawn(process.execPath, [MAIN], {
            env: { PATH: process.env['PATH'] ?? '', HOST: '0.0.0.0', PORT: '0', IGNITE_REFERENCE_TOKEN: 't', IGNITE_DATA_DIR: dataDir },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        t.after(() => child.kill('SIGKILL'));
        const url = await new Promise((resolve, reject) => {
            let out = '';
            child.stdout.on('data', (d) => {
                out += d.toString();
                const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
                if (match)
                    resolve(match[1]);
            });
            child.on('close', (code) => reject(new Error(`exited ${code}: ${out}`)));
        });
        const res = await request(`${url}/healthz`);
        assert.equal(res.statusCode, 200);
        assert.deepEqual(await res.body.json(), { status: 'ok' });
    });
});
//# sourceMappingURL=startup.test.js.map