import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import * as tus from 'tus-js-client';
import { request } from 'undici';
import type { Faults, UploadObservation } from '../src/reference-upstream/server.js';
import { RedisConnection } from '../src/shared-state/redis-connection.js';
import { RedisResumableRecords } from '../src/shared-state/redis-resumable-records.js';
import { spawnBridge, startReplicas, type Replicas } from './bridge-process.js';
import { buildVersion, PREVIOUS_VERSION } from './previous-version.js';
import { assertRefusal, gzipLike, sha256, startStack, storedBytes } from './helpers.js';
import { eventually, head, RawClient } from './raw-http.js';
import { redisSkip } from './redis-server.js';

/**
 * Resumable uploads are never stored twice, whoever dies or answers late:
 * 423 while an outcome is pending or unknown, a "sent" record before the
 * half-close, claims that cannot land after their timeout, caps a flood of
 * creations cannot walk past, transparent forwarding, one answer per state
 * on every replica, and a drain that lets paused uploads finish.
 */

const CHUNK = 524288;
const TUS = { 'tus-resumable': '1.0.0' };
const NAME = { 'upload-metadata': `filename ${Buffer.from('ctx.tar.gz').toString('base64')}` };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function tusCall(url: string, method: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Reply> {
  const res = await request(url, {
    method: method as 'PATCH',
    headers: { ...TUS, ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}), ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Creates an upload on `base`; answers its path. */
async function create(base: string, length: number, headers: Record<string, string> = {}): Promise<string> {
  const created = await tusCall(`${base}/v1/ignite/uploads`, 'POST', { 'upload-length': String(length), ...NAME, ...headers });
  assert.equal(created.status, 201, created.body);
  return String(created.headers['location']);
}

const patch = (base: string, path: string, offset: number, bytes: Buffer, headers: Record<string, string> = {}) =>
  tusCall(`${base}${path}`, 'PATCH', { 'upload-offset': String(offset), ...headers }, bytes);

/** 423 with Retry-After, saying the archive was sent and its outcome is not known; never "nothing was stored". */
function assertOutcomeOpen(reply: Reply, what: string): void {
  assert.equal(reply.status, 423, `${what}: ${reply.status} ${reply.body}`);
  assert.equal(reply.headers['retry-after'], '5', what);
  if (reply.body) {
    assert.match(reply.body, /sent completely/, what);
    assert.doesNotMatch(reply.body, /nothing (of it )?was stored/, what);
  }
}

function countEvents(replicas: { reference: { events: NodeJS.EventEmitter } }, name: 'call' | 'stored' | 'upload'): UploadObservation[] {
  const seen: UploadObservation[] = [];
  replicas.reference.events.on(name, (o: UploadObservation) => seen.push(o));
  return seen;
}

describe('one replica: an upstream that answers after UPSTREAM_RESPONSE_TIMEOUT_MS', () => {
  test('tus-js-client (retryDelays set) ends with the context id; the upstream committed exactly once', async (t) => {
    const stack = await startStack(t, { config: { upstreamResponseTimeoutMs: 300 }, reference: { faults: { answerAfterCommitDelayMs: 1500 } } });
    const stored: UploadObservation[] = [];
    stack.reference.events.on('stored', (o: UploadObservation) => stored.push(o));
    const archive = gzipLike(2 * CHUNK + 17);
    const contextId = await new Promise<string | null>((resolve, reject) => {
      new tus.Upload(archive, {
        endpoint: `${stack.baseUrl}/v1/ignite/uploads`,
        metadata: { filename: 'ctx.tar.gz' },
        retryDelays: [100, 300, 500, 1000, 1000, 1000, 1000],
        onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Ignite-Context-Id') ?? null),
        onError: reject,
      }).start();
    });
    assert.ok(contextId?.startsWith('ctx_'), `contextId ${contextId}`);
    assert.equal(stack.opened.length, 1, 'one upstream call');
    assert.deepEqual(stored.map((o) => o.contextId), [contextId], 'one commit');
    assert.equal(sha256(await storedBytes(stack, contextId!)), sha256(archive));
  });

  test('the final PATCH gets 504; HEAD and the final PATCH again get 423 until the late answer, then 200 with the id; DELETE 409', async (t) => {
    const stack = await startStack(t, { config: { upstreamResponseTimeoutMs: 300 }, reference: { faults: { answerAfterCommitDelayMs: 1500 } } });
    const archive = gzipLike(CHUNK + 5);
    const path = await create(stack.baseUrl, archive.length);
    const final = await patch(stack.baseUrl, path, 0, archive);
    assertRefusal({ status: final.status, body: final.body }, 504, 4, /not known yet/);
    assertOutcomeOpen(await tusCall(`${stack.baseUrl}${path}`, 'HEAD'), 'HEAD');
    assertOutcomeOpen(await patch(stack.baseUrl, path, archive.length, Buffer.alloc(0)), 'the final PATCH again');
    const deleted = await tusCall(`${stack.baseUrl}${path}`, 'DELETE');
    assertRefusal({ status: deleted.status, body: deleted.body }, 409, 9, /can no longer be terminated/);
    let done: Reply | undefined;
    await eventually(async () => (done = await tusCall(`${stack.baseUrl}${path}`, 'HEAD')).status === 200, 'the late answer completes the upload', 5000);
    assert.equal(done!.headers['upload-offset'], String(archive.length));
    assert.equal(done!.headers['ignite-context-id'], stack.observed[0]!.contextId);
    assert.equal(stack.opened.length, 1);
  });

  test('DELETE answers per state: 204, then 404 (terminated); 410 once failed; 409 once complete', async (t) => {
    const stack = await startStack(t);
    const archive = gzipLike(CHUNK);
    const terminated = await create(stack.baseUrl, archive.length);
    assert.equal((await patch(stack.baseUrl, terminated, 0, archive.subarray(0, 1000))).status, 204);
    assert.equal((await tusCall(`${stack.baseUrl}${terminated}`, 'DELETE')).status, 204);
    for (const method of ['DELETE', 'HEAD']) assert.equal((await tusCall(`${stack.baseUrl}${terminated}`, method)).status, 404, `${method} after DELETE`);
    const failed = await create(stack.baseUrl, archive.length);
    assert.equal((await patch(stack.baseUrl, failed, 0, Buffer.from('not an archive at all'))).status, 415);
    for (const method of ['DELETE', 'DELETE', 'HEAD']) assert.equal((await tusCall(`${stack.baseUrl}${failed}`, method)).status, 410, `${method} after a failure`);
    const complete = await create(stack.baseUrl, archive.length);
    assert.equal((await patch(stack.baseUrl, complete, 0, archive)).status, 200);
    assert.equal((await tusCall(`${stack.baseUrl}${complete}`, 'DELETE')).status, 409);
  });
});

describe('replicas sharing one Redis: who dies, who answers', { skip: redisSkip }, () => {
  test('the owner killed (kill -9) between the half-close and the answer: the other replica answers 423, never 410; one commit upstream', async (t) => {
    const replicas = await startReplicas({}, { faults: { answerAfterCommitDelayMs: 3000 } });
    t.after(() => replicas.close());
    const { a, b } = replicas;
    const calls = countEvents(replicas, 'call');
    const stored = countEvents(replicas, 'stored');
    const archive = gzipLike(2 * CHUNK + 3);
    const path = await create(b.url, archive.length);
    const final = patch(a.url, path, 0, archive).catch(() => undefined);
    await eventually(() => stored.length === 1, 'the upstream committed', 10_000);
    a.child.kill('SIGKILL');
    await a.exited;
    await final;
    assertOutcomeOpen(await tusCall(`${b.url}${path}`, 'HEAD'), 'HEAD on the surviving replica');
    assertOutcomeOpen(await patch(b.url, path, archive.length, Buffer.alloc(0)), 'the final PATCH again on the surviving replica');
    // A tus client keeps asking; nothing it does makes a second call.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assertOutcomeOpen(await tusCall(`${b.url}${path}`, 'HEAD'), 'HEAD once the answer would have come');
    assert.equal(calls.length, 1, 'one upstream call');
    assert.equal(stored.length, 1, 'one commit');
  });

  test('SIGTERM of the owner mid-upload: it drains (readyz 503, new uploads 503) and the upload is finished through the other replica, forwarded to it', async (t) => {
    const replicas = await startReplicas({ SHUTDOWN_GRACE_MS: '300', RESUMABLE_DRAIN_MS: '30000' });
    t.after(() => replicas.close());
    const { a, b, reference } = replicas;
    const calls = countEvents(replicas, 'call');
    const archive = gzipLike(3 * CHUNK + 11);
    const path = await create(b.url, archive.length);
    assert.equal((await patch(a.url, path, 0, archive.subarray(0, CHUNK + 9))).status, 204, 'A holds the call');
    a.child.kill('SIGTERM');
    await eventually(async () => (await request(`${a.url}/readyz`)).statusCode === 503, 'A reports draining');
    // Past the grace period: only the drain keeps the upload.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const refused = await tusCall(`${a.url}/v1/ignite/uploads`, 'POST', { 'upload-length': '10', ...NAME });
    assertRefusal({ status: refused.status, body: refused.body }, 503, 14, /shutting down/);
    assert.equal((await tusCall(`${b.url}${path}`, 'HEAD')).headers['upload-offset'], String(CHUNK + 9));
    const done = await patch(b.url, path, CHUNK + 9, archive.subarray(CHUNK + 9));
    assert.equal(done.status, 200, done.body);
    const { contextId } = JSON.parse(done.body) as { contextId: string };
    assert.equal(await a.exited, 0, 'A exits once the upload it held completed');
    assert.equal(calls.length, 1, 'one upstream call');
    assert.equal(sha256(await readFile(reference.store.path(contextId))), sha256(archive));
    const after = await tusCall(`${b.url}${path}`, 'HEAD');
    assert.equal(after.status, 200, after.body);
    assert.equal(after.headers['ignite-context-id'], contextId, 'the answer was recorded before A exited');
  });

  test('a claim (and a DELETE) that Redis applies only after its timeout never lands: after the 503 the client\'s retry succeeds', async (t) => {
    const replicas = await startReplicas();
    t.after(() => replicas.close());
    const { a, b, redis } = replicas;
    const admin = new RedisConnection(redis.url, { info: () => {}, warn: () => {} });
    t.after(() => admin.close());
    const records = new RedisResumableRecords(admin);
    await eventually(() => admin.state === 'ready', 'connected');
    const archive = gzipLike(CHUNK + 100);
    // Redis has the scripts cached (a late EVALSHA would otherwise fail with NOSCRIPT, not by its deadline).
    const warm = await create(a.url, archive.length);
    assert.equal((await patch(b.url, warm, 0, archive.subarray(0, 1000))).status, 204);
    const claimed = await create(a.url, archive.length);
    const terminated = await create(a.url, archive.length);
    const id = claimed.split('/').at(-1)!;
    // Scripts wait while reads go on: the first PATCH reads the record, and its claim sits in Redis past its timeout.
    await admin.client.call('CLIENT', 'PAUSE', '4000', 'WRITE');
    const paused = Date.now();
    for (const reply of [await patch(b.url, claimed, 0, archive), await tusCall(`${b.url}${terminated}`, 'DELETE')]) {
      assertRefusal({ status: reply.status, body: reply.body }, 503, 14, /Redis, REDIS_URL/);
      assert.equal(reply.headers['retry-after'], '5');
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, paused + 4200 - Date.now())));
    await eventually(async () => (await records.read(id)) !== undefined, 'Redis answers again');
    assert.equal((await records.read(id))?.owner, undefined, 'the late claim was refused by Redis');
    assert.equal((await records.read(terminated.split('/').at(-1)!))?.end, undefined, 'the late DELETE was refused by Redis');
    const retried = await patch(b.url, claimed, 0, archive);
    assert.equal(retried.status, 200, retried.body);
    const other = await patch(a.url, terminated, 0, archive);
    assert.equal(other.status, 200, other.body);
  });
});

describe('replicas sharing one Redis: caps, forwarding, answers', { skip: redisSkip }, () => {
  test('creation floods: a quarter per client address and per invented credential, per replica; unclaimed creations count until claimed', async (t) => {
    const replicas = await startReplicas({ MAX_RESUMABLE_UPLOADS: '8', TRUST_PROXY: 'true' });
    t.after(() => replicas.close());
    const { a, b } = replicas;
    const post = (base: string, from: string, authorization?: string) => tusCall(`${base}/v1/ignite/uploads`, 'POST', {
      'upload-length': String(CHUNK), ...NAME, 'x-forwarded-for': from, ...(authorization ? { authorization } : {}),
    });
    const full = (reply: Reply, which: RegExp) => {
      assertRefusal({ status: reply.status, body: reply.body }, 503, 14, which);
      assert.equal(reply.headers['retry-after'], '5');
    };
    const paths: string[] = [];
    const created = async (reply: Promise<Reply>) => {
      const res = await reply;
      assert.equal(res.status, 201, res.body);
      paths.push(String(res.headers['location']));
    };
    for (let i = 0; i < 2; i++) await created(post(a.url, '10.0.0.1'));
    full(await post(a.url, '10.0.0.1'), /This client address already holds 2/);
    await created(post(a.url, '10.0.0.2', 'Bearer invented-1'));
    await created(post(a.url, '10.0.0.2', 'Bearer invented-2'));
    full(await post(a.url, '10.0.0.2', 'Bearer invented-3'), /This client address already holds 2/);
    await created(post(a.url, '10.0.0.3', 'Bearer carol'));
    await created(post(a.url, '10.0.0.4', 'Bearer carol'));
    full(await post(a.url, '10.0.0.5', 'Bearer carol'), /This credential already holds 2/);
    await created(post(a.url, '10.0.0.6'));
    await created(post(a.url, '10.0.0.7'));
    // Eight unclaimed records created on A: A is full, whatever the address.
    full(await post(a.url, '10.0.0.8'), /This bridge already holds 8 resumable uploads \(MAX_RESUMABLE_UPLOADS\)/);
    // A flood of refused creations does not read every unclaimed record each: at most one check a second.
    const connection = new RedisConnection(replicas.redis.url, { info: () => {}, warn: () => {} });
    t.after(() => connection.close());
    await eventually(() => connection.state === 'ready', 'connected');
    const reads = async () => Number(/cmdstat_hmget:calls=(\d+)/.exec(await connection.client.info('commandstats'))?.[1] ?? 0);
    const readsBefore = await reads();
    for (let i = 0; i < 20; i++) full(await post(a.url, `10.0.1.${i}`), /This bridge already holds 8/);
    assert.ok(await reads() - readsBefore <= 8, `${await reads() - readsBefore} record reads for 20 refused creations`);
    // B has its own room: Redis holds at most replicas × MAX_RESUMABLE_UPLOADS open records.
    for (let i = 0; i < 2; i++) assert.equal((await post(b.url, '10.0.0.1')).status, 201);
    full(await post(b.url, '10.0.0.1'), /This client address already holds 2/);
    // One of A's creations claimed by B: A counts it no more.
    assert.equal((await patch(b.url, paths[0]!, 0, gzipLike(1000))).status, 204);
    await eventually(async () => (await post(a.url, '10.0.0.8')).status === 201, 'A checks its unclaimed creations again', 3000);
  });

  test('forwarding is transparent: Expect: 100-continue through the other replica gets 100 only when the owner sends it; a wrong offset costs no body bytes', async (t) => {
    const replicas = await startReplicas();
    t.after(() => replicas.close());
    const { a, b } = replicas;
    const archive = gzipLike(20 * 1024 * 1024);
    const path = await create(a.url, archive.length);
    assert.equal((await patch(a.url, path, 0, archive.subarray(0, 1000))).status, 204, 'A holds the call');
    const headers = { ...TUS, 'content-type': 'application/offset+octet-stream', expect: '100-continue' };
    const wrong = await RawClient.connect(b.url);
    t.after(() => wrong.destroy());
    await wrong.write(head('PATCH', path, { ...headers, 'upload-offset': 5000, 'content-length': archive.length - 5000 }));
    assert.equal(await wrong.firstReply(), 409, 'the owner\'s refusal, with no 100 before it');
    const refused = await wrong.response();
    assert.deepEqual(refused.interim, []);
    assert.match(refused.body, /holds 1000 bytes/);
    assert.equal(refused.headers['upload-offset'], '1000');
    // The right offset: the owner's 100 is relayed, then the body flows through.
    const right = await RawClient.connect(b.url);
    t.after(() => right.destroy());
    await right.write(head('PATCH', path, { ...headers, 'upload-offset': 1000, 'content-length': CHUNK }));
    assert.equal(await right.firstReply(), 100);
    await right.write(archive.subarray(1000, 1000 + CHUNK));
    const accepted = await right.response();
    assert.equal(accepted.status, 204, accepted.body);
    assert.equal(accepted.headers['upload-offset'], String(1000 + CHUNK));
  });

  test('DELETE, HEAD and PATCH answer alike on both replicas: 404 once terminated, 410 once failed or expired, 409 for DELETE once sent', async (t) => {
    const replicas: Replicas = await startReplicas({ RESUMABLE_EXPIRY_MS: '1500' });
    t.after(() => replicas.close());
    const { a, b } = replicas;
    const bases = [a.url, b.url];
    const expect = async (path: string, status: number, what: string) => {
      for (const base of bases) {
        for (const method of ['HEAD', 'DELETE']) assert.equal((await tusCall(`${base}${path}`, method)).status, status, `${what}: ${method} on ${base === a.url ? 'A' : 'B'}`);
        const resumed = await patch(base, path, 0, gzipLike(100));
        assert.equal(resumed.status, status, `${what}: PATCH on ${base === a.url ? 'A' : 'B'}`);
      }
    };
    const archive = gzipLike(CHUNK);
    const terminatedHeld = await create(b.url, archive.length);
    assert.equal((await patch(a.url, terminatedHeld, 0, archive.subarray(0, 1000))).status, 204);
    assert.equal((await tusCall(`${b.url}${terminatedHeld}`, 'DELETE')).status, 204);
    await expect(terminatedHeld, 404, 'terminated while held');
    const terminatedUnclaimed = await create(a.url, archive.length);
    assert.equal((await tusCall(`${b.url}${terminatedUnclaimed}`, 'DELETE')).status, 204);
    await expect(terminatedUnclaimed, 404, 'terminated unclaimed');
    const failed = await create(a.url, archive.length);
    assert.equal((await patch(b.url, failed, 0, Buffer.from('not an archive at all'))).status, 415);
    await eventually(async () => (await tusCall(`${a.url}${failed}`, 'HEAD')).status === 410, 'the failure is recorded');
    await expect(failed, 410, 'failed');
    const expiredHeld = await create(a.url, archive.length);
    const expiredUnclaimed = await create(b.url, archive.length);
    assert.equal((await patch(a.url, expiredHeld, 0, archive.subarray(0, 1000))).status, 204);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await eventually(async () => (await tusCall(`${b.url}${expiredHeld}`, 'HEAD')).status === 410, 'the expiry is recorded');
    await expect(expiredHeld, 410, 'expired while held');
    await expect(expiredUnclaimed, 410, 'expired unclaimed');
    const complete = await create(a.url, archive.length);
    assert.equal((await patch(b.url, complete, 0, archive)).status, 200);
    for (const base of bases) assert.equal((await tusCall(`${base}${complete}`, 'DELETE')).status, 409, `DELETE once complete on ${base}`);
  });
});

describe('replicas sharing one Redis: an owner that cannot answer, bodies that do not parse', { skip: redisSkip }, () => {
  test('a sent upload whose owner is stopped (SIGSTOP): HEAD on the other replica is 423 with Retry-After, never 503 (tus-js-client would start over)', async (t) => {
    const faults: Faults = {};
    const replicas = await startReplicas({}, { faults });
    t.after(() => replicas.close());
    const { a, b } = replicas;
    const archive = gzipLike(CHUNK + 9);
    const path = await create(a.url, archive.length);
    faults.answerAfterCommitDelayMs = 30_000;
    const stored = countEvents(replicas, 'stored');
    const final = patch(a.url, path, 0, archive).catch(() => undefined);
    await eventually(() => stored.length === 1, 'the upstream committed', 10_000);
    a.child.kill('SIGSTOP');
    t.after(() => { a.child.kill('SIGCONT'); });
    assertOutcomeOpen(await tusCall(`${b.url}${path}`, 'HEAD'), 'HEAD through B while the owner is stopped');
    a.child.kill('SIGCONT');
    delete faults.answerAfterCommitDelayMs;
    void final;
  });

  test('DELETE of an unclaimed upload acts only once its body parsed: a body with bad framing is a 400 and terminates nothing', async (t) => {
    const replicas = await startReplicas();
    t.after(() => replicas.close());
    const path = await create(replicas.a.url, 1000);
    const client = await RawClient.connect(replicas.b.url);
    t.after(() => client.destroy());
    await client.write(head('DELETE', path, { ...TUS, 'transfer-encoding': 'chunked' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await client.write('zz-not-a-chunk-size\r\n\r\n');
    const refused = await client.response();
    assert.equal(refused.status, 400);
    assert.match(refused.body.toString(), /MALFORMED_HTTP/);
    assert.equal((await tusCall(`${replicas.b.url}${path}`, 'HEAD')).status, 200, 'still there on B');
    assert.equal((await tusCall(`${replicas.a.url}${path}`, 'HEAD')).status, 200, 'still there on A');
  });

  test('a PATCH forwarded to the owner whose framing breaks mid-body: 400 MALFORMED_HTTP; the owner saw a cut request (paused), never a complete one', async (t) => {
    const replicas = await startReplicas();
    t.after(() => replicas.close());
    const { a, b } = replicas;
    const archive = gzipLike(2 * CHUNK);
    const path = await create(a.url, archive.length);
    assert.equal((await patch(a.url, path, 0, archive.subarray(0, 1000))).status, 204);
    const client = await RawClient.connect(b.url);
    t.after(() => client.destroy());
    await client.write(head('PATCH', path, { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': '1000', 'transfer-encoding': 'chunked' }));
    const piece = archive.subarray(1000, 1000 + 4096);
    await client.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await client.write('zz-not-a-chunk-size\r\n\r\n');
    const refused = await client.response();
    assert.equal(refused.status, 400, refused.body.toString());
    assert.match(refused.body.toString(), /MALFORMED_HTTP/);
    // The owner keeps what it received in full chunks and goes on from there: the upload finishes through either replica.
    let offset = 0;
    await eventually(async () => {
      const now = await tusCall(`${b.url}${path}`, 'HEAD');
      offset = Number(now.headers['upload-offset']);
      return now.status === 200;
    }, 'HEAD answers', 5000);
    assert.ok(offset >= 1000 && offset <= 1000 + piece.length, `offset ${offset}`);
    const done = await patch(b.url, path, offset, archive.subarray(offset));
    assert.equal(done.status, 200, done.body);
  });
});

describe('a rolling deploy: the previous version next to this one on the same Redis (tus)', { skip: redisSkip }, () => {
  test('an unknown outcome reads 423 on the previous version (forwarded to its owner), a termination 410: never its 500', async (t) => {
    const previousMain = await buildVersion(PREVIOUS_VERSION);
    const faults: Faults = {};
    const replicas = await startReplicas({ UPSTREAM_RESPONSE_TIMEOUT_MS: '500', UPSTREAM_OUTCOME_WAIT_MS: '800' }, { faults });
    t.after(() => replicas.close());
    const previous = await spawnBridge(t, replicas.env, previousMain);
    await eventually(async () => ((await (await request(`${previous.url}/readyz`)).body.json()) as { redis?: string }).redis === 'ready', 'the previous version is ready', 10_000);
    const { a } = replicas;
    const archive = gzipLike(CHUNK + 3);
    const unknown = await create(a.url, archive.length);
    faults.answerAfterCommitDelayMs = 5000;
    const final = await patch(a.url, unknown, 0, archive);
    assert.equal(final.status, 504, final.body);
    // The owner gives up after UPSTREAM_OUTCOME_WAIT_MS and records the outcome as unknown.
    await eventually(async () => (await new RedisResumableRecordsReader(replicas).read(unknown))?.end !== undefined, 'the unknown outcome is recorded', 5000);
    assertOutcomeOpen(await tusCall(`${a.url}${unknown}`, 'HEAD'), 'HEAD on this version');
    assertOutcomeOpen(await tusCall(`${previous.url}${unknown}`, 'HEAD'), 'HEAD on the previous version');
    delete faults.answerAfterCommitDelayMs;

    const terminated = await create(a.url, archive.length);
    assert.equal((await tusCall(`${a.url}${terminated}`, 'DELETE')).status, 204);
    assert.equal((await tusCall(`${a.url}${terminated}`, 'HEAD')).status, 404);
    assert.equal((await tusCall(`${previous.url}${terminated}`, 'HEAD')).status, 410);
  });

  test('uploads this version created count on the previous version per credential, as its own do (capKey), not all against one key', async (t) => {
    const previousMain = await buildVersion(PREVIOUS_VERSION);
    const replicas = await startReplicas({ MAX_RESUMABLE_UPLOADS: '8', TRUST_PROXY: 'true' });
    t.after(() => replicas.close());
    const previous = await spawnBridge(t, { ...replicas.env, MAX_RESUMABLE_UPLOADS: '8' }, previousMain);
    await eventually(async () => ((await (await request(`${previous.url}/readyz`)).body.json()) as { redis?: string }).redis === 'ready', 'the previous version is ready', 10_000);
    // Three credentials, one upload each, created here and claimed by the previous version: none is refused as "full".
    for (const [i, who] of ['alice', 'bob', 'carol'].entries()) {
      const path = await create(replicas.a.url, CHUNK, { authorization: `Bearer ${who}`, 'x-forwarded-for': `10.0.2.${i}` });
      const claimed = await patch(previous.url, path, 0, gzipLike(1000), { authorization: `Bearer ${who}` });
      assert.equal(claimed.status, 204, `${who}: ${claimed.status} ${claimed.body}`);
    }
  });
});

/** Reads upload records as the replicas wrote them. */
class RedisResumableRecordsReader {
  constructor(private readonly replicas: Replicas) {}

  async read(path: string) {
    const connection = new RedisConnection(this.replicas.redis.url, { info: () => {}, warn: () => {} });
    try {
      await eventually(() => connection.state === 'ready', 'connected');
      return await new RedisResumableRecords(connection).read(path.split('/').pop()!);
    } finally {
      await connection.close();
    }
  }
}
