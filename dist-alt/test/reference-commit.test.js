import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startReferenceUpstream } from '../src/reference-upstream/server.js';
import { gzipLike, sha256 } from './helpers.js';
import { contextEntries, nextUpload, spawnReference, startReference, tempDataDir, uploadClient } from './reference-helpers.js';
const CHUNK = 524288;
const ID = /^ctx_[0-9A-HJKMNP-TV-Z]{26}$/;
describe('a cancel during the commit: nothing visible and cancelled, or both files and OK', () => {
    const expectations = [
        ['after-fsync', 'cancelled'],
        ['after-record', 'cancelled'],
        ['between-renames', 'stored'],
        ['after-renames', 'stored'],
    ];
    for (const [at, outcome] of expectations) {
        test(`cancelled ${at}: ${outcome}`, async (t) => {
            let call;
            const steps = [];
            const reference = await startReference(t, {
                faults: {
                    onCommitStep: async (step, serverCall) => {
                        steps.push(step);
                        if (step !== at)
                            return;
                        call.cancel();
                        // The commit goes on only once the upstream has seen the cancel.
                        if (!serverCall.cancelled)
                            await once(serverCall, 'cancelled');
                    },
                },
            });
            const archive = gzipLike(2 * CHUNK + 11);
            const seen = nextUpload(reference);
            const sent = uploadClient(t, reference.target).upload('commit.tar.gz', [archive.subarray(0, CHUNK), archive.subarray(CHUNK, 2 * CHUNK), archive.subarray(2 * CHUNK)]);
            call = sent.call;
            await assert.rejects(sent.answer, { code: grpc.status.CANCELLED });
            const observed = await seen;
            assert.equal(observed.outcome, outcome, JSON.stringify(observed));
            assert.ok(steps.includes(at), `the commit reached ${at}: ${steps.join(', ')}`);
            const entries = await contextEntries(reference.store.dir);
            if (outcome === 'cancelled') {
                assert.equal(observed.code, grpc.status.CANCELLED);
                assert.deepEqual(entries, []);
                return;
            }
            assert.equal(observed.code, grpc.status.OK);
            assert.match(observed.contextId, ID);
            assert.deepEqual(entries, [observed.contextId, `${observed.contextId}.json`]);
            assert.equal(sha256(await readFile(reference.store.path(observed.contextId))), sha256(archive));
            const record = JSON.parse(await readFile(`${reference.store.path(observed.contextId)}.json`, 'utf8'));
            assert.equal(record['contextId'], observed.contextId);
            assert.equal(record['sizeBytes'], String(archive.length));
            assert.equal(record['sha256'], sha256(archive));
        });
    }
});
describe('a crash during the commit, then a restart on the same data directory', () => {
    const expectations = [
        ['after-record', 'nothing'],
        ['between-renames', 'nothing'],
        ['after-renames', 'the pair'],
    ];
    for (const [at, kept] of expectations) {
        test(`exits ${at}: the restart keeps ${kept}, never a file without its record or the reverse`, async (t) => {
            const dataDir = await tempDataDir(t);
            const contexts = join(dataDir, 'contexts');
            const doomed = await spawnReference(t, dataDir, { exitDuringCommit: at });
            const archive = gzipLike(CHUNK + 5);
            const { answer } = uploadClient(t, doomed.target).upload('crash.tar.gz', [archive.subarray(0, CHUNK), archive.subarray(CHUNK)]);
            await assert.rejects(answer);
            assert.equal(await doomed.exited, 70, 'the upstream exited on its fault');
            const left = await contextEntries(contexts);
            const ids = left.filter((e) => ID.test(e));
            if (at === 'between-renames')
                assert.equal(ids.length, 1, `the crash left the context without its record: ${left.join(', ')}`);
            if (at === 'after-renames')
                assert.equal(ids.length, 1, `both renames happened: ${left.join(', ')}`);
            const restarted = await spawnReference(t, dataDir);
            const after = await contextEntries(contexts);
            if (kept === 'nothing')
                assert.deepEqual(after, []);
            else
                assert.deepEqual(after, [ids[0], `${ids[0]}.json`]);
            const small = gzipLike(1000);
            const client = uploadClient(t, restarted.target);
            const stored = await client.upload('after.tar.gz', [small]).answer;
            assert.ok((await contextEntries(contexts)).includes(`${stored.contextId}.json`));
            client.close();
            restarted.child.kill('SIGTERM');
            assert.equal(await restarted.exited, 0);
        });
    }
});
test('start-up removes temp files and half-committed pairs, and nothing else', async (t) => {
    const dataDir = await tempDataDir(t);
    const contexts = join(dataDir, 'contexts');
    await mkdir(contexts, { recursive: true });
    const [lonelyFile, lonelyRecord, whole] = ['ctx_01HZX9A0000000000000000001', 'ctx_01HZX9A0000000000000000002', 'ctx_01HZX9A0000000000000000003'];
    for (const name of [lonelyFile, `${lonelyRecord}.json`, whole, `${whole}.json`, '.incoming-0123abcd', '.incoming-0123abcd.json', 'notes.txt', 'ctx_unrelated']) {
        await writeFile(join(contexts, name), 'x');
    }
    const reference = await startReferenceUpstream({ dataDir });
    t.after(() => reference.close());
    assert.deepEqual(await contextEntries(contexts), [whole, `${whole}.json`, 'ctx_unrelated', 'notes.txt'].sort());
});
//# sourceMappingURL=reference-commit.test.js.map