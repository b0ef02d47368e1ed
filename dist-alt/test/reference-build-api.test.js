import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { gzipLike } from './helpers.js';
import { startReference, tempDataDir, uploadClient } from './reference-helpers.js';
const BUILD_ID = /^bld_[0-9A-HJKMNP-TV-Z]{26}$/;
async function storedContext(t, reference) {
    const answer = await uploadClient(t, reference.target).upload('ctx.tar.gz', [gzipLike(1000)]).answer;
    return answer.contextId;
}
async function createBuild(reference, body, authorization) {
    const res = await request(`${reference.apiUrl}/v1/ignite/builds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: await res.body.json() };
}
describe('the reference CreateBuild API', () => {
    test('creates a build for a stored context, keeps its record, and reads it back', async (t) => {
        const dataDir = await tempDataDir(t);
        const reference = await startReference(t, { dataDir });
        const contextId = await storedContext(t, reference);
        const created = once(reference.events, 'build');
        const { status, body } = await createBuild(reference, { name: 'web', tags: ['latest', 'v2'], contextId });
        assert.equal(status, 200);
        assert.match(String(body['id']), BUILD_ID);
        assert.deepEqual({ ...body, id: undefined, createTime: undefined }, { id: undefined, createTime: undefined, name: 'web', tags: ['latest', 'v2'], contextId, state: 'QUEUED' });
        const [record] = await created;
        assert.equal(record.id, body['id']);
        assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'builds', `${record.id}.json`), 'utf8')), body);
        const read = await request(`${reference.apiUrl}/v1/ignite/builds/${record.id}`);
        assert.equal(read.statusCode, 200);
        assert.deepEqual(await read.body.json(), body);
    });
    test('refuses a missing name or contextId (400), a context never stored (404), and creates nothing', async (t) => {
        const dataDir = await tempDataDir(t);
        const reference = await startReference(t, { dataDir });
        const contextId = await storedContext(t, reference);
        const refusals = [
            [{ tags: ['latest'], contextId }, 400],
            [{ name: 'web', tags: ['latest'] }, 400],
            [{ name: 'web', tags: 'latest', contextId }, 400],
            [{ name: 'web', contextId: 'ctx_01HZX9AAAAAAAAAAAAAAAAAAAA' }, 404],
            [{ name: 'web', contextId: '../contexts/x' }, 404],
        ];
        for (const [body, expected] of refusals) {
            const answer = await createBuild(reference, body);
            assert.equal(answer.status, expected, JSON.stringify(body));
            assert.equal(typeof answer.body['message'], 'string');
            assert.equal(answer.body['code'], expected === 404 ? 5 : 3);
        }
        assert.deepEqual((await readdir(join(dataDir, 'builds'))).filter((f) => !f.startsWith('.')), []);
        assert.equal((await request(`${reference.apiUrl}/v1/ignite/builds/bld_01HZX9AAAAAAAAAAAAAAAAAAAA`)).statusCode, 404);
    });
    test('with a token, a call without it is 401 and creates nothing', async (t) => {
        const dataDir = await tempDataDir(t);
        const reference = await startReference(t, { dataDir, token: 's3cret' });
        // A stored context as the store leaves one (the gRPC side's token check has its own tests).
        const contextId = 'ctx_01HZX9AAAAAAAAAAAAAAAAAAAA';
        await writeFile(join(reference.store.dir, `${contextId}.json`), '{}');
        assert.equal((await createBuild(reference, { name: 'web', contextId })).status, 401);
        assert.equal((await createBuild(reference, { name: 'web', contextId }, 'Bearer s3cret')).status, 200);
        assert.equal((await readdir(join(dataDir, 'builds'))).length, 1);
    });
    test('fault modes: an injected status creates nothing; a delay still creates the build', async (t) => {
        const failing = await startReference(t, { buildApi: { faults: { status: 503 } } });
        const refused = once(failing.events, 'build-refused');
        const contextId = await storedContext(t, failing);
        assert.equal((await createBuild(failing, { name: 'web', contextId })).status, 503);
        assert.deepEqual(await refused, [503]);
        const slow = await startReference(t, { buildApi: { faults: { delayMs: 300 } } });
        const slowContext = await storedContext(t, slow);
        const started = Date.now();
        assert.equal((await createBuild(slow, { name: 'web', contextId: slowContext })).status, 200);
        assert.ok(Date.now() - started >= 290);
    });
});
//# sourceMappingURL=reference-build-api.test.js.map