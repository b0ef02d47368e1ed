import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { Errors } from '../src/errors.js';
import { UploadStreamer } from '../src/upload/stream-upload.js';
import { assertNothingStored, gzipLike, startStack } from './helpers.js';
import { eventually } from './raw-http.js';
/** Resolves with the next value, or rejects after `ms` so a missing event fails instead of hanging. */
function within(promise, ms, what) {
    return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
}
describe('regressions in the stream path', () => {
    test('a client that goes away while the upstream applies backpressure is a clean refusal, not a crash', async () => {
        const unhandled = [];
        const onUnhandled = (err) => unhandled.push(err);
        process.on('unhandledRejection', onUnhandled);
        try {
            let release;
            let cancelled = false;
            const target = {
                open: () => ({
                    response: new Promise(() => { }),
                    write: () => (release ? Promise.resolve() : new Promise((resolve) => { release = resolve; })),
                    commit: async () => ({ contextId: 'never', sizeBytes: '0' }),
                    cancel: () => { cancelled = true; },
                }),
            };
            const streamer = new UploadStreamer(target, { chunkSizeBytes: 16 * 1024, maxContextBytes: 1e9, idleTimeoutMs: 30_000 });
            const source = new PassThrough();
            source.on('error', () => { }); // as on an IncomingMessage, which emits 'error' only to listeners
            const client = new AbortController();
            const upload = streamer.upload(source, { name: 'x', expectedSizeBytes: 0, headers: {}, signal: client.signal });
            source.write(gzipLike(64 * 1024));
            // The premise: the sink is blocked on the upstream (a write is waiting).
            await eventually(() => release !== undefined, 'a write waits for the upstream');
            // The sink is blocked on the upstream; the client disconnects, then the upstream reads again.
            source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
            client.abort(Errors.clientAborted());
            await assert.rejects(upload, { code: 'CLIENT_ABORTED' });
            release?.();
            await eventually(() => cancelled, 'the upstream call was cancelled');
            // Whatever the released write still did has run by the next macrotask.
            await new Promise((resolve) => setImmediate(resolve));
            assert.deepEqual(unhandled, []);
        }
        finally {
            process.off('unhandledRejection', onUnhandled);
        }
    });
    test('cancelling in-flight uploads (the end of a drain) cancels a stalled upstream at once', async (t) => {
        // A client that disconnects while the bridge is not reading its socket cannot be noticed until reading
        // resumes (TCP); a cancel from the bridge itself must not wait for UPSTREAM_RESPONSE_TIMEOUT_MS either.
        const stack = await startStack(t, {
            config: { upstreamResponseTimeoutMs: 60_000 },
            reference: { faults: { stopReadingAfterBytes: 1024 * 1024 } },
        });
        const seen = stack.nextObservation();
        const body = new PassThrough();
        const sent = request(`${stack.baseUrl}/v1/ignite/contexts/x.tar.gz`, { method: 'PUT', body });
        body.write(gzipLike(16 * 1024 * 1024));
        // The premise: the upstream has stopped reading, after its first MiB.
        await eventually(() => (stack.opened[0]?.bytes ?? 0) >= 1024 * 1024, 'the upstream took its first MiB and stopped reading', 10_000);
        stack.app.uploadGate.cancelInFlight();
        const res = await within(sent, 10_000, 'the client getting its answer');
        const json = (await res.body.json());
        body.destroy();
        assert.equal(res.statusCode, 503);
        assert.equal(json.code, 14);
        assert.equal((await within(seen, 10_000, 'the upstream seeing the cancel')).outcome, 'cancelled');
        assert.equal(stack.app.uploadGate.inFlight, 0);
    });
    test('a multipart client that stalls before or after the file part gets 408 and frees its slot', async (t) => {
        const stack = await startStack(t, { config: { uploadIdleTimeoutMs: 500 } });
        const boundary = 'stall';
        const archive = gzipLike(700_000);
        const head = `POST /v1/ignite/contexts HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`;
        const chunk = (data) => {
            const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
            return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
        };
        const beforeFile = chunk(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nx.tar.gz\r\n`);
        const afterFile = Buffer.concat([
            chunk(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.tar.gz"\r\n\r\n`),
            chunk(archive),
            chunk(`\r\n--${boundary}\r\n`),
        ]);
        for (const [phase, body] of [['before the file', beforeFile], ['after the file', afterFile]]) {
            const { port } = new URL(stack.baseUrl);
            const socket = net.connect(Number(port), '127.0.0.1');
            socket.on('error', () => { });
            const reply = new Promise((resolve) => {
                const received = [];
                socket.on('data', (d) => received.push(d));
                socket.on('close', () => resolve(Buffer.concat(received).toString()));
            });
            socket.write(head);
            socket.write(body);
            const text = await within(reply, 10_000, `a reply to a client stalled ${phase}`);
            assert.match(text, /^HTTP\/1\.1 408 /, phase);
            assert.match(text, /"code":4/);
            assert.equal(stack.app.uploadGate.inFlight, 0, phase);
        }
        await assertNothingStored(stack);
    });
});
//# sourceMappingURL=stream-upload.test.js.map