import assert from 'node:assert/strict';
import { constants as http2Constants } from 'node:http2';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { ImportJobs } from '../src/imports/import-jobs.js';
import { shutDown } from '../src/shutdown.js';
import { gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { BOUNDARY, eventually, head, multipartBody, RawClient } from './raw-http.js';
import { signatureHeaders, startSource } from './webhook-helpers.js';
import { startFakeUpstream } from './fake-upstream.js';
const PATH = '/v1/ignite/contexts/ctx.tar.gz';
async function put(stack, body, headers) {
    const res = await request(`${stack.baseUrl}${PATH}`, { method: 'PUT', body, headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
}
/** A well-behaved client retrying with the same key: 409 means "ask again later". */
async function retryUntilAnswered(send) {
    for (let attempt = 0; attempt < 100; attempt++) {
        const reply = await send();
        if (reply.status !== 409)
            return reply;
        assert.ok(reply.headers['retry-after'] || reply.body['code'] === 10, JSON.stringify(reply));
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('still 409 after 100 retries');
}
/** Writes the whole request, then closes the connection right after its last byte, without reading any answer. */
async function sendAndLeave(stack, bytes) {
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(bytes);
    client.destroy();
}
const stored = (stack) => stack.observed.filter((o) => o.outcome === 'stored');
describe('once the body is complete, the outcome is the upstream\'s', () => {
    test('a raw upload whose client leaves after its last byte is committed; the retry with its key replays it', async (t) => {
        const stack = await startStack(t, { reference: { faults: { answerDelayMs: 1500 } } });
        const archive = gzipLike(3 * 524288 + 99);
        const headers = { 'idempotency-key': 'leave-early', authorization: 'Bearer alice' };
        const observed = stack.nextObservation();
        await sendAndLeave(stack, Buffer.concat([Buffer.from(head('PUT', PATH, { ...headers, 'content-length': archive.length })), archive]));
        const call = await observed;
        assert.equal(call.outcome, 'stored', 'the upstream ended the call OK, not cancelled');
        assert.equal(sha256(await storedBytes(stack, call.contextId)), sha256(archive));
        const retry = await retryUntilAnswered(() => put(stack, archive, headers));
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.equal(retry.body['contextId'], call.contextId);
        assert.equal(retry.headers['idempotent-replayed'], 'true');
        assert.equal(stack.observed.length, 1, 'one upstream call in all');
    });
    test('the same for a multipart form and for a signed request', async (t) => {
        const secret = 'boundary-secret';
        const stack = await startStack(t, { config: { webhookSecret: secret, serviceToken: 'svc' }, reference: { faults: { answerDelayMs: 1000 } } });
        const archive = gzipLike(2 * 524288 + 3);
        const form = multipartBody([['name', 'form.tar.gz']], { filename: 'ignored.tar.gz', bytes: archive });
        const formHeaders = { 'idempotency-key': 'form-key', authorization: 'Bearer alice' };
        let observed = stack.nextObservation();
        await sendAndLeave(stack, Buffer.concat([
            Buffer.from(head('POST', '/v1/ignite/contexts', { ...formHeaders, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': form.length })),
            form,
        ]));
        const formCall = await observed;
        assert.equal(formCall.outcome, 'stored');
        const formRetry = await retryUntilAnswered(async () => {
            const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form, headers: { ...formHeaders, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
            return { status: res.statusCode, headers: res.headers, body: await res.body.json() };
        });
        assert.equal(formRetry.status, 200, JSON.stringify(formRetry.body));
        assert.equal(formRetry.body['contextId'], formCall.contextId);
        const signed = { 'idempotency-key': 'delivery-7', ...signatureHeaders(secret, archive) };
        observed = stack.nextObservation();
        await sendAndLeave(stack, Buffer.concat([Buffer.from(head('PUT', PATH, { ...signed, 'content-length': archive.length })), archive]));
        const signedCall = await observed;
        assert.equal(signedCall.outcome, 'stored');
        const signedRetry = await retryUntilAnswered(() => put(stack, archive, signed));
        assert.equal(signedRetry.status, 200, JSON.stringify(signedRetry.body));
        assert.equal(signedRetry.body['contextId'], signedCall.contextId);
        assert.equal(stack.observed.length, 2, 'one upstream call per upload, none for the retries');
    });
    test('an answer later than UPSTREAM_RESPONSE_TIMEOUT_MS: 504 "not known yet", 409 while waiting, then the retry replays it', async (t) => {
        const stack = await startStack(t, {
            config: { upstreamResponseTimeoutMs: 400, upstreamOutcomeWaitMs: 10_000 },
            reference: { faults: { answerDelayMs: 1500 } },
        });
        const archive = gzipLike(600_000);
        const headers = { 'idempotency-key': 'slow-answer', authorization: 'Bearer alice' };
        const observed = stack.nextObservation();
        const first = await put(stack, archive, headers);
        assert.equal(first.status, 504, JSON.stringify(first.body));
        assert.equal(first.body['code'], 4);
        assert.match(String(first.body['message']), /whole archive was sent.*not known yet/);
        const waiting = await put(stack, archive, headers);
        assert.equal(waiting.status, 409, JSON.stringify(waiting.body));
        assert.equal(waiting.body['code'], 10);
        assert.ok(Number(waiting.headers['retry-after']) > 0, 'Retry-After');
        assert.match(String(waiting.body['message']), /still waiting for the upstream's answer/);
        const call = await observed;
        assert.equal(call.outcome, 'stored');
        const retry = await retryUntilAnswered(() => put(stack, archive, headers));
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.equal(retry.body['contextId'], call.contextId);
        assert.equal(retry.headers['idempotent-replayed'], 'true');
        assert.equal(stack.observed.length, 1);
    });
    test('an upstream that never answers: after UPSTREAM_OUTCOME_WAIT_MS the call is reset and the key answers 504 "unknown", never a second upload', async (t) => {
        const stack = await startStack(t, {
            config: { upstreamResponseTimeoutMs: 300, upstreamOutcomeWaitMs: 1000 },
            reference: { faults: { neverAnswer: true } },
        });
        const archive = gzipLike(300_000);
        const headers = { 'idempotency-key': 'never', authorization: 'Bearer alice' };
        const observed = stack.nextObservation();
        const first = await put(stack, archive, headers);
        assert.equal(first.status, 504, JSON.stringify(first.body));
        assert.equal((await put(stack, archive, headers)).status, 409);
        const call = await observed;
        assert.equal(call.outcome, 'cancelled', 'reset once the outcome wait ran out');
        const retry = await retryUntilAnswered(() => put(stack, archive, headers));
        assert.equal(retry.status, 504, JSON.stringify(retry.body));
        assert.equal(retry.body['code'], 4);
        assert.match(String(retry.body['message']), /stored is unknown, and it will not be uploaded again under this key/);
        assert.equal(stack.observed.length, 1, 'the retries never reached the upstream');
        const keyless = await put(stack, archive, { authorization: 'Bearer alice' });
        assert.equal(keyless.status, 504);
        assert.match(String(keyless.body['message']), /send an Idempotency-Key next time/);
    });
    test('a drain whose grace ends while a half-closed call awaits its answer delivers that answer', async (t) => {
        const stack = await startStack(t, {
            config: { upstreamResponseTimeoutMs: 10_000 },
            reference: { faults: { answerDelayMs: 1200 } },
        });
        const archive = gzipLike(200_000);
        const client = await RawClient.connect(stack.baseUrl);
        const observed = stack.nextObservation();
        await client.write(Buffer.concat([Buffer.from(head('PUT', PATH, { 'content-length': archive.length })), archive]));
        await eventually(() => stack.app.uploadGate.inFlight === 1, 'the upload is in flight');
        const stopped = shutDown({ app: stack.app, gate: stack.app.uploadGate, upstream: stack.upstream, graceMs: 200, responseTimeoutMs: 10_000 });
        const response = await client.response();
        assert.equal(response.status, 200, response.body);
        assert.equal(response.json.contextId, (await observed).contextId);
        await stopped;
        assert.equal(stored(stack).length, 1);
    });
    test('an async import whose upstream never answers reads running, then unknown (never failed: it may be stored)', async (t) => {
        const archive = gzipLike(300_000);
        const source = await startSource(t, (_req, res) => {
            res.writeHead(200, { 'content-length': archive.length });
            res.end(archive);
        });
        const stack = await startStack(t, {
            config: { importAllowHttp: true, importAllowPrivateAddresses: true, upstreamResponseTimeoutMs: 300, upstreamOutcomeWaitMs: 1000 },
            reference: { faults: { neverAnswer: true } },
        });
        const observed = stack.nextObservation();
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', prefer: 'respond-async' },
            body: JSON.stringify({ url: `${source.origin}/ctx.tar.gz`, name: 'late.tar.gz' }),
        });
        const accepted = await res.body.json();
        assert.equal(res.statusCode, 202);
        const status = async () => (await (await request(`${stack.baseUrl}${accepted.statusUrl}`)).body.json());
        assert.equal((await observed).outcome, 'cancelled', 'reset once the outcome wait ran out');
        let final = await status();
        for (let i = 0; i < 100 && final['status'] === 'running'; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            final = await status();
        }
        assert.equal(final['status'], 'unknown', JSON.stringify(final));
        assert.equal(final['error'].code, 4);
        assert.match(final['error'].message, /whether the context was stored is unknown/);
    });
    test('a drain that gives up on an async import\'s late answer returns only once the job store recorded unknown', async (t) => {
        class SlowToRecord extends ImportJobs {
            recorded = [];
            async finish(id, outcome) {
                await new Promise((resolve) => setTimeout(resolve, 300));
                await super.finish(id, outcome);
                this.recorded.push(outcome);
            }
        }
        const jobs = new SlowToRecord();
        const archive = gzipLike(300_000);
        const source = await startSource(t, (_req, res) => {
            res.writeHead(200, { 'content-length': archive.length });
            res.end(archive);
        });
        const stack = await startStack(t, {
            config: { importAllowHttp: true, importAllowPrivateAddresses: true, upstreamResponseTimeoutMs: 300, upstreamOutcomeWaitMs: 60_000 },
            reference: { faults: { neverAnswer: true } },
            importJobs: jobs,
        });
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', prefer: 'respond-async' },
            body: JSON.stringify({ url: `${source.origin}/ctx.tar.gz`, name: 'late.tar.gz' }),
        });
        assert.equal(res.statusCode, 202, await res.body.text());
        await eventually(() => stack.app.lateAnswers.size === 1, 'the import awaits its late answer');
        await shutDown({ app: stack.app, gate: stack.app.uploadGate, upstream: stack.upstream, graceMs: 200, responseTimeoutMs: 300 });
        assert.deepEqual(jobs.recorded.map((o) => o.unknown), [true]);
    });
    test('a client that resets its connection while the upstream commits: stored, logged as ok_client_gone', async (t) => {
        const stack = await startStack(t, { reference: { faults: { answerDelayMs: 800 } } });
        const archive = gzipLike(600_000);
        const client = await RawClient.connect(stack.baseUrl);
        const halfClosed = new Promise((resolve) => stack.reference.events.once('half-close', resolve));
        const observed = stack.nextObservation();
        await client.write(Buffer.concat([Buffer.from(head('PUT', PATH, { 'content-length': archive.length })), archive]));
        await halfClosed;
        client.socket.resetAndDestroy();
        assert.equal((await observed).outcome, 'stored');
        await eventually(async () => /outcome="ok_client_gone"\} 1$/m.test(await (await request(`${stack.baseUrl}/metrics`)).body.text()), 'the upload counted as ok_client_gone');
    });
    test('a connection that fails after the half-close: 504 "outcome lost", and the key never uploads again', async (t) => {
        // An upstream that takes the whole archive, then resets the stream instead of answering.
        const broken = await startFakeUpstream(t, (stream) => {
            stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
            stream.on('end', () => stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR));
        });
        const stack = await startStack(t, { target: broken.target });
        const archive = gzipLike(300_000);
        const headers = { 'idempotency-key': 'lost', authorization: 'Bearer alice' };
        const first = await put(stack, archive, headers);
        assert.equal(first.status, 504, JSON.stringify(first.body));
        assert.equal(first.body['code'], 4);
        assert.match(String(first.body['message']), /connection to the upstream BuildService failed before its answer/);
        assert.equal(broken.calls.length, 1);
        assert.equal(broken.calls[0].outcome, 'committed', 'the upstream had the whole archive');
        const retry = await put(stack, archive, headers);
        assert.equal(retry.status, 504, JSON.stringify(retry.body));
        assert.match(String(retry.body['message']), /will not be uploaded again under this key/);
        assert.equal(broken.calls.length, 1, 'the retry never reached the upstream');
    });
});
describe('a malformed request after a complete upload on the same connection', () => {
    test('the upload still gets its answer, with Connection: close, and the connection ends', async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(100_000);
        const client = await RawClient.connect(stack.baseUrl);
        await client.write(Buffer.concat([
            Buffer.from(head('PUT', PATH, { 'content-length': archive.length })),
            archive,
            Buffer.from(head('GET', '/healthz', { 'content-length': 1, 'transfer-encoding': 'chunked' })),
        ]));
        const response = await client.response();
        assert.equal(response.status, 200, response.body);
        assert.equal(response.headers['connection'], 'close');
        await client.closed;
    });
});
//# sourceMappingURL=commit-boundary.test.js.map