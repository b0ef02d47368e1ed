import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { Faults, ReferenceUpstream, UploadObservation } from '../src/reference-upstream/server.js';
import { spawnBridge, startReplicas, type BridgeProcess, type Replicas } from './bridge-process.js';
import { DelayProxy } from './delay-proxy.js';
import { gzipLike } from './helpers.js';
import { buildVersion, PREVIOUS_VERSION } from './previous-version.js';
import { eventually, head, RawClient } from './raw-http.js';
import { redisSkip } from './redis-server.js';
import { sleep } from './webhook-helpers.js';

/** UPLOAD_IDLE_TIMEOUT_MS of the replicas: their claims' lease, and their process heartbeat's. */
const LEASE_MS = 2000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { code?: number; message?: string; contextId?: string };
}

async function put(base: string, name: string, body: Buffer, key: string): Promise<Reply> {
  const res = await request(`${base}/v1/ignite/contexts/${name}`, { method: 'PUT', body, headers: { 'idempotency-key': key } });
  return { status: res.statusCode, headers: res.headers, body: await res.body.json() as Reply['body'] };
}

const ready = async (replica: BridgeProcess): Promise<void> => eventually(async () => {
  const res = await request(`${replica.url}/readyz`);
  return ((await res.body.json()) as { redis?: string }).redis === 'ready';
}, 'connected to Redis', 10_000);

/** 409 (a live owner still waits for the answer) or 504 "outcome unknown" (its owner is gone): never an upload. */
function assertHeldBack(reply: Reply): void {
  if (reply.status === 409) {
    assert.equal(reply.body.code, 10);
    if (/still waiting for the upstream's answer/.test(String(reply.body.message))) assert.equal(reply.headers['retry-after'], '5');
  } else assertUnknown(reply);
}

function assertUnknown(reply: Reply): void {
  assert.equal(reply.status, 504, JSON.stringify(reply.body));
  assert.equal(reply.body.code, 4);
  assert.match(String(reply.body.message), /sent completely, .* whether the context was stored is unknown, and it will not be uploaded again under this key/);
  assert.doesNotMatch(String(reply.body.message), /nothing was stored/);
}

describe('never twice, whoever dies (Idempotency-Keys on a shared Redis)', { skip: redisSkip }, () => {
  let replicas: Replicas;
  let reference: ReferenceUpstream;
  /** Read by the reference upstream on every call: a test sets a fault for its own calls only. */
  const faults: Faults = {};
  /** Names of the contexts the upstream committed, in order (a late answer's at its commit, not its answer). */
  const committed: string[] = [];
  const committedAs = (name: string) => committed.filter((n) => n === name).length;
  /** Contexts on the upstream's disk under this name. */
  const onDisk = async (name: string): Promise<number> => {
    const records = (await readdir(reference.store.dir)).filter((entry) => entry.endsWith('.json'));
    const names = await Promise.all(records.map(async (entry) => (JSON.parse(await readFile(join(reference.store.dir, entry), 'utf8')) as { name: string }).name));
    return names.filter((n) => n === name).length;
  };
  const nextCall = () => once(reference.events, 'upload').then(([seen]) => seen as UploadObservation);

  before(async () => {
    replicas = await startReplicas({ UPLOAD_IDLE_TIMEOUT_MS: String(LEASE_MS) }, { faults });
    reference = replicas.reference;
    const seen = new Set<string>();
    const count = (o: UploadObservation) => {
      if (o.outcome !== 'stored' || seen.has(o.contextId!)) return;
      seen.add(o.contextId!);
      committed.push(o.metadata!.name);
    };
    reference.events.on('stored', count).on('upload', count);
    await Promise.all([ready(replicas.a), ready(replicas.b)]);
  });
  after(() => replicas.close());

  test('kill -9 of the owner between its half-close and the answer: retries on the other replica get 409, then 504 "unknown", never a second upload', async (t) => {
    const owner = await spawnBridge(t, replicas.env);
    await ready(owner);
    const archive = gzipLike(500_000);
    faults.answerAfterCommitDelayMs = 10_000;
    const stored = once(reference.events, 'stored');
    const first = put(owner.url, 'killed.tar.gz', archive, 'k-killed').catch((err: unknown) => err);
    await stored;
    delete faults.answerAfterCommitDelayMs;
    owner.child.kill('SIGKILL');
    await owner.exited;
    await first;

    assertHeldBack(await put(replicas.b.url, 'killed.tar.gz', archive, 'k-killed'));
    let reply!: Reply;
    await eventually(async () => (reply = await put(replicas.b.url, 'killed.tar.gz', archive, 'k-killed')).status !== 409,
      'the dead owner\'s heartbeat ran out', LEASE_MS + 3000);
    assertUnknown(reply);
    // Longer than any claim lease could have held the key: it is still never uploaded again, on either replica.
    await sleep(LEASE_MS);
    assertUnknown(await put(replicas.a.url, 'killed.tar.gz', archive, 'k-killed'));
    assertUnknown(await put(replicas.b.url, 'killed.tar.gz', archive, 'k-killed'));
    assert.equal(committedAs('killed.tar.gz'), 1, 'the upstream committed the archive once');
    assert.equal(await onDisk('killed.tar.gz'), 1);
  });

  test('Redis stalled (SIGSTOP) at the half-close: the sent mark times out, the call is cancelled (503, the upstream saw a reset); afterwards the key is free and a retry uploads once', async () => {
    const archive = gzipLike(400_000);
    const client = await RawClient.connect(replicas.a.url);
    await client.write(head('PUT', '/v1/ignite/contexts/stalled.tar.gz', { 'content-length': archive.length, 'idempotency-key': 'k-stalled', expect: '100-continue' }));
    assert.equal(await client.firstReply(), 100, 'the key was claimed');
    const call = nextCall();
    replicas.redis.pause();
    let reply;
    try {
      await client.write(archive);
      reply = await client.response();
    } finally {
      replicas.redis.resume();
    }
    client.destroy();
    assert.equal(reply.status, 503, reply.body);
    assert.equal(reply.json.code, 14);
    assert.match(String(reply.json.message), /could not be marked as sent .* nothing was stored/);
    const seen = await call;
    assert.equal(seen.outcome, 'cancelled');
    assert.equal(seen.bytes, archive.length, 'the whole body had reached the upstream, and was still not committed');

    let retry!: Reply;
    await eventually(async () => (retry = await put(replicas.b.url, 'stalled.tar.gz', archive, 'k-stalled')).status !== 409,
      'the cancelled upload\'s claim was released once Redis answered', LEASE_MS + 3000);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.headers['idempotent-replayed'], undefined);
    assert.equal((await put(replicas.a.url, 'stalled.tar.gz', archive, 'k-stalled')).headers['idempotent-replayed'], 'true');
    assert.equal(committedAs('stalled.tar.gz'), 1);
    assert.equal(await onDisk('stalled.tar.gz'), 1);
  });

  test('Redis stalled longer than the lease after the sent mark: its live owner is not read as dead (409, never "unknown"), the late answer is recorded, and replayed', async () => {
    const archive = gzipLike(300_000);
    faults.answerAfterCommitDelayMs = 2 * LEASE_MS + 1500;
    const stored = once(reference.events, 'stored');
    const first = put(replicas.a.url, 'stall-after.tar.gz', archive, 'k-stall-after');
    await stored;
    delete faults.answerAfterCommitDelayMs;
    replicas.redis.pause();
    await sleep(LEASE_MS + 1000);
    replicas.redis.resume();
    // Every lease ran out on Redis's clock during the stall; the owner, alive, has not beaten since: still "awaiting", not dead.
    const held = await put(replicas.b.url, 'stall-after.tar.gz', archive, 'k-stall-after');
    assert.equal(held.status, 409, JSON.stringify(held.body));
    assert.match(String(held.body.message), /still waiting for the upstream's answer/);
    const answered = await first;
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    const replay = await put(replicas.b.url, 'stall-after.tar.gz', archive, 'k-stall-after');
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body.contextId, answered.body.contextId);
    assert.equal(committedAs('stall-after.tar.gz'), 1);
  });

  test('a claim delayed (loopback proxy) until after its timeout: the client got 503, the claim never lands, and a retry uploads at once, once', async (t) => {
    const proxy = await DelayProxy.start(replicas.redis.port);
    t.after(() => proxy.close());
    const slow = await spawnBridge(t, { ...replicas.env, REDIS_URL: proxy.redisUrl });
    await ready(slow);
    const archive = gzipLike(200_000);
    proxy.delayMs = 1500;
    // The claim's own bytes reaching Redis (heartbeats queue behind the same delay).
    const landed = new Promise<void>((resolve) => proxy.on('forwarded', (data: Buffer) => {
      if (data.includes('k-delayed')) resolve();
    }));
    const refused = await put(slow.url, 'delayed.tar.gz', archive, 'k-delayed');
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 14);
    assert.match(String(refused.body.message), /Redis, REDIS_URL\) .* is unreachable/);
    proxy.delayMs = 0;
    await landed;
    // The claim reached Redis after its deadline: had it been written, this retry would find the key in flight (409).
    const retry = await put(replicas.b.url, 'delayed.tar.gz', archive, 'k-delayed');
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.headers['idempotent-replayed'], undefined);
    let replay!: Reply;
    await eventually(async () => (replay = await put(slow.url, 'delayed.tar.gz', archive, 'k-delayed')).status !== 503, 'the delayed replica answers again');
    assert.equal(replay.body.contextId, retry.body.contextId);
    assert.equal(committedAs('delayed.tar.gz'), 1);
  });

  describe('a rolling deploy: the previous version next to this one on the same Redis', () => {
    let previousMain: string;
    before(async () => {
      previousMain = await buildVersion(PREVIOUS_VERSION);
    });

    test('a key this version marked sent reads "awaiting an answer" (409) on the previous version, also after its owner died; it never uploads it again', async (t) => {
      const [current, previous] = await Promise.all([spawnBridge(t, replicas.env), spawnBridge(t, replicas.env, previousMain)]);
      await Promise.all([ready(current), ready(previous)]);
      const archive = gzipLike(300_000);
      faults.answerAfterCommitDelayMs = 10_000;
      const stored = once(reference.events, 'stored');
      const first = put(current.url, 'rolling.tar.gz', archive, 'k-rolling').catch((err: unknown) => err);
      await stored;
      delete faults.answerAfterCommitDelayMs;
      const awaiting = (reply: Reply) => {
        assert.equal(reply.status, 409, JSON.stringify(reply.body));
        assert.match(String(reply.body.message), /still waiting for the upstream's answer/);
      };
      awaiting(await put(previous.url, 'rolling.tar.gz', archive, 'k-rolling'));

      current.child.kill('SIGKILL');
      await current.exited;
      await first;
      // This version reads the dead owner's key as unknown once its heartbeat is gone; by then any lease has run out too.
      await eventually(async () => (await put(replicas.b.url, 'rolling.tar.gz', archive, 'k-rolling')).status === 504, 'the owner\'s heartbeat ran out', LEASE_MS + 3000);
      await sleep(LEASE_MS);
      awaiting(await put(previous.url, 'rolling.tar.gz', archive, 'k-rolling'));
      assert.equal(committedAs('rolling.tar.gz'), 1);
      assert.equal(await onDisk('rolling.tar.gz'), 1);
    });
  });
});
