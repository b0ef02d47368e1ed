import assert from 'node:assert/strict';
import { constants } from 'node:http2';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadBuildProto } from '../src/grpc/proto.js';
import { resetCall } from '../src/grpc/reset-call.js';
import { findServerHttp2Stream } from '../src/reference-upstream/call-stream.js';
import { gzipLike } from './helpers.js';
import { contextEntries, END_STREAM, FRAME, grpcMessages, h2Frame, nextUpload, onTempFileWrite, rawH2Call, rstStream, startReference, uploadClient } from './reference-helpers.js';
/**
 * The reference upstream tells a reset from a half-close by the HTTP/2
 * stream's own state, which it reaches through grpc-js internals: these
 * tests break when a grpc-js update moves them, rather than the upstream
 * quietly falling back.
 */
describe('the HTTP/2 stream under a grpc-js server call', () => {
    for (const intercepted of [false, true]) {
        test(`is found ${intercepted ? 'through a server interceptor' : 'without interceptors'}`, async (t) => {
            const server = new grpc.Server(intercepted ? { interceptors: [(_method, call) => new grpc.ServerInterceptingCall(call)] } : {});
            const service = grpc.loadPackageDefinition(loadBuildProto());
            let found;
            let session;
            server.addService(service.dodil.ignite.v1.BuildService.service, {
                UploadBuildContext: (call, callback) => {
                    found = findServerHttp2Stream(call);
                    session = found?.session;
                    call.on('data', () => { });
                    call.on('end', () => callback(null, { contextId: 'ctx_x', sizeBytes: '0' }));
                },
            });
            const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
            t.after(() => server.forceShutdown());
            await uploadClient(t, `127.0.0.1:${port}`).upload('x.tar.gz', []).answer;
            assert.ok(found, 'grpc-js internals changed: findServerHttp2Stream found no stream');
            assert.equal(found.rstCode, constants.NGHTTP2_NO_ERROR);
            assert.ok(session, 'the stream was live, with its session, while the call ran');
        });
    }
    test('is found by the reference upstream itself, which warns otherwise', async (t) => {
        const warnings = [];
        const onWarning = (warning) => warnings.push(warning);
        process.on('warning', onWarning);
        t.after(() => process.off('warning', onWarning));
        let found;
        const reference = await startReference(t, { faults: { onCommitStep: (_step, call) => { found ??= findServerHttp2Stream(call); } } });
        await uploadClient(t, reference.target).upload('x.tar.gz', [gzipLike(100)]).answer;
        assert.ok(found);
        assert.deepEqual(warnings.filter((w) => /HTTP\/2 stream/.test(w.message)), []);
    });
});
describe('a reset stream is never stored, a clean end always is', () => {
    const chunk = gzipLike(1000);
    // [frames after the HEADERS, whether the client really half-closed]
    const cases = [
        // grpc-js reports this one as a half-close, and the cancel only after it.
        ['RST_STREAM(NO_ERROR) without END_STREAM', [h2Frame(FRAME.DATA, 0, 1, grpcMessages('reset.tar.gz', chunk)), rstStream(1, constants.NGHTTP2_NO_ERROR)], false],
        ['RST_STREAM(CANCEL) without END_STREAM', [h2Frame(FRAME.DATA, 0, 1, grpcMessages('reset.tar.gz', chunk)), rstStream(1, constants.NGHTTP2_CANCEL)], false],
        // What a grpc-js client's cancel() sends, read at once: a real half-close, then a reset before anything is committed.
        ['END_STREAM then RST_STREAM(CANCEL) in one read', [h2Frame(FRAME.DATA, END_STREAM, 1, grpcMessages('reset.tar.gz', chunk)), rstStream(1, constants.NGHTTP2_CANCEL)], true],
    ];
    for (const [name, frames, halfClosed] of cases) {
        test(`a bare HTTP/2 client: ${name}`, async (t) => {
            const reference = await startReference(t);
            let halfCloses = 0;
            reference.events.on('half-close', () => halfCloses++);
            for (let i = 0; i < 5; i++) {
                const seen = nextUpload(reference);
                const close = await rawH2Call(reference.target, frames);
                const observed = await seen;
                close();
                assert.equal(observed.outcome, 'cancelled', JSON.stringify(observed));
                assert.ok(observed.bytes <= chunk.length);
            }
            // Decided when the stream's end was read, from the stream's state, not once the cancel came.
            if (!halfClosed)
                assert.equal(halfCloses, 0, 'a reset was taken for a half-close');
            assert.deepEqual(await contextEntries(reference.store.dir), []);
        });
    }
    test('the same bare client ending cleanly is stored', async (t) => {
        const reference = await startReference(t);
        const seen = nextUpload(reference);
        const close = await rawH2Call(reference.target, [h2Frame(FRAME.DATA, END_STREAM, 1, grpcMessages('clean.tar.gz', chunk))]);
        t.after(close);
        const observed = await seen;
        assert.equal(observed.outcome, 'stored', JSON.stringify(observed));
        assert.equal(observed.bytes, chunk.length);
        assert.deepEqual(await contextEntries(reference.store.dir), [observed.contextId, `${observed.contextId}.json`]);
    });
    test("the bridge's resetCall mid-upload stores nothing; clean ends in between are all stored", async (t) => {
        const reference = await startReference(t);
        let holdsBytes;
        onTempFileWrite(reference, () => holdsBytes?.());
        const client = uploadClient(t, reference.target);
        const stored = [];
        for (let i = 0; i < 5; i++) {
            const cut = nextUpload(reference);
            const written = new Promise((resolve) => { holdsBytes = resolve; });
            const { call, answer } = client.upload('cut.tar.gz', [gzipLike(256 * 1024), gzipLike(256 * 1024)], { end: false });
            await written;
            resetCall(call, true);
            await assert.rejects(answer, { code: grpc.status.CANCELLED });
            const reset = await cut;
            assert.equal(reset.outcome, 'cancelled');
            assert.ok(reset.bytes > 0, 'the upstream held bytes when the stream was reset');
            const clean = nextUpload(reference);
            const { answer: ok } = client.upload('whole.tar.gz', [gzipLike(256 * 1024), gzipLike(1000)]);
            const { contextId } = await ok;
            const observed = await clean;
            assert.equal(observed.outcome, 'stored');
            assert.equal(observed.contextId, contextId);
            stored.push(contextId, `${contextId}.json`);
        }
        assert.deepEqual(await contextEntries(reference.store.dir), stored.sort());
    });
});
//# sourceMappingURL=reference-reset.test.js.map