import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipLike, sha256, startStack } from './helpers.js';
import { head, pieces, RawClient } from './raw-http.js';
const UPSTREAM_MAIN = fileURLToPath(new URL('../src/reference-upstream/main.js', import.meta.url));
const MiB = 1024 * 1024;
/** The reference upstream as its own process, so the test can watch it die. */
async function startUpstream(dataDir, port, faults) {
    const child = spawn(process.execPath, [UPSTREAM_MAIN], {
        env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), API_PORT: '0', IGNITE_DATA_DIR: dataDir, REFERENCE_FAULTS: faults ? JSON.stringify(faults) : '' },
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const target = await new Promise((resolve, reject) => {
        child.stdout.once('data', (data) => resolve(JSON.parse(data.toString().split('\n')[0]).listening));
        void exited.then((code) => reject(new Error(`the upstream exited (${code}) before listening`)));
    });
    return { child, target, exited };
}
test('the upstream dies mid-upload: 503 before the client finished sending; once it is back, uploads work again', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bridge-upstream-death-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startUpstream(dataDir, 0, { exitAfterBytes: 2 * MiB });
    t.after(() => { if (first.child.exitCode === null)
        first.child.kill('SIGKILL'); });
    const port = Number(first.target.split(':').at(-1));
    const stack = await startStack(t, { target: first.target });
    const archive = gzipLike(64 * MiB);
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(head('PUT', '/v1/ignite/contexts/doomed.tar.gz', { 'content-length': archive.length }));
    await client.sendUntilAnswered(pieces(archive, [64 * 1024]), 1);
    const response = await client.response();
    client.destroy();
    assert.equal(response.status, 503, response.body);
    assert.equal(response.json.code, 14);
    assert.match(response.json.message, /UNAVAILABLE/);
    assert.equal(response.headers['connection'], 'close');
    assert.ok(client.written < archive.length, `answered after ${client.written} of ${archive.length} bytes`);
    assert.equal(await first.exited, 70, 'the upstream process exited on its fault');
    assert.equal(stack.app.uploadGate.inFlight, 0);
    // Back on the same port: the channel reconnects (with grpc-js's backoff) and uploads are served again.
    const second = await startUpstream(dataDir, port);
    t.after(() => { if (second.child.exitCode === null)
        second.child.kill('SIGKILL'); });
    const small = gzipLike(3 * MiB + 7);
    let last = '';
    const deadline = Date.now() + 30_000;
    for (;;) {
        const again = await RawClient.connect(stack.baseUrl);
        await again.write(Buffer.concat([Buffer.from(head('PUT', '/v1/ignite/contexts/after.tar.gz', { 'content-length': small.length })), small]));
        const answer = await again.response();
        again.destroy();
        if (answer.status === 200) {
            const stored = await readFile(join(dataDir, 'contexts', answer.json.contextId));
            assert.equal(sha256(stored), sha256(small));
            break;
        }
        last = answer.body;
        assert.equal(answer.status, 503, answer.body);
        assert.ok(Date.now() < deadline, `the bridge did not recover: ${last}`);
        await new Promise((r) => setTimeout(r, 250));
    }
    const entries = await readdir(join(dataDir, 'contexts'));
    assert.equal(entries.filter((e) => !e.endsWith('.json')).length, 1, `only the upload after the restart is stored: ${entries.join(', ')}`);
});
//# sourceMappingURL=upstream-death.test.js.map