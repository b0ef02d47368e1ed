import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { BridgeError } from '../src/errors.js';
import { RedisConnection, REDIS_COMMAND_TIMEOUT_MS, type StateLog } from '../src/shared-state/redis-connection.js';
import { RedisIdempotencyStore } from '../src/shared-state/redis-idempotency-store.js';
import { RedisImportJobs } from '../src/shared-state/redis-import-jobs.js';
import { ReplicaHeartbeat } from '../src/shared-state/replica-heartbeat.js';
import { storeContract, TTL_MS } from './idempotency-store-contract.js';
import { eventually } from './raw-http.js';
import { RedisServer, redisSkip } from './redis-server.js';

/** Log lines the connection wrote, for assertions. */
function recorder(): StateLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (_f, message) => lines.push(`info ${message}`), warn: (_f, message) => lines.push(`warn ${message}`) };
}

const record = { fingerprint: 'f', response: { contextId: 'ctx_A', sizeBytes: '7' } };

describe('Redis shared state', { skip: redisSkip }, () => {
  let server: RedisServer;
  let connection: RedisConnection;
  /** A plain client to look at what the bridge wrote. */
  let inspect: Redis;
  /** This test process as the owner of the keys it marks sent. */
  let heartbeat: ReplicaHeartbeat;

  before(async () => {
    server = await RedisServer.start();
    connection = new RedisConnection(server.url, recorder());
    inspect = new Redis(server.url, { lazyConnect: true });
    await inspect.connect();
    await eventually(() => connection.state === 'ready', 'the bridge\'s connection is ready');
    heartbeat = new ReplicaHeartbeat(connection, 5000);
  });
  after(async () => {
    await heartbeat.stop();
    inspect.disconnect();
    await connection.close();
    await server.stop();
  });

  describe('RedisIdempotencyStore: the store contract', () => {
    storeContract(() => new RedisIdempotencyStore(connection, TTL_MS, heartbeat), true);
  });

  test('keys are prefixed and every one expires by itself (PX): a lease while claimed, the TTL once finished', async () => {
    const store = new RedisIdempotencyStore(connection, 60_000, heartbeat);
    const claim = await store.claim('anonymous\nlayout', 5000);
    assert.equal(claim.state, 'claimed');
    const key = 'ignite:idem:anonymous\nlayout';
    assert.deepEqual(JSON.parse((await inspect.get(key))!), { state: 'in-flight', token: (claim as { token: string }).token });
    const leased = await inspect.pttl(key);
    assert.ok(leased > 4000 && leased <= 5000, `lease PTTL ${leased}`);
    assert.equal(await store.complete('anonymous\nlayout', (claim as { token: string }).token, record), true);
    const finished = await inspect.pttl(key);
    assert.ok(finished > 59_000 && finished <= 60_000, `record PTTL ${finished}`);
  });

  test('Redis down: a claim fails at once with 503 SHARED_STATE_UNAVAILABLE and Retry-After; back up, the same key claims normally', async () => {
    const log = recorder();
    const own = new RedisConnection(server.url, log);
    const store = new RedisIdempotencyStore(own, 60_000, heartbeat);
    try {
      await eventually(() => own.state === 'ready', 'ready');
      await server.kill();
      await eventually(() => own.state === 'unavailable', 'the connection reports Redis unavailable');
      const started = Date.now();
      const refused = await store.claim('anonymous\ndown', 5000).then(() => undefined, (err: unknown) => err);
      assert.ok(refused instanceof BridgeError, String(refused));
      assert.equal(refused.code, 'SHARED_STATE_UNAVAILABLE');
      assert.equal(refused.httpStatus, 503);
      assert.equal(refused.grpcCode, 14);
      assert.equal(refused.headers['retry-after'], '5');
      assert.ok(Date.now() - started <= REDIS_COMMAND_TIMEOUT_MS, 'within the command timeout');
      assert.equal(log.lines.filter((l) => l.startsWith('warn')).length, 1, `one warning per outage: ${log.lines.join('\n')}`);

      await server.restart();
      await eventually(() => own.state === 'ready', 'reconnected in the background', 10_000);
      assert.equal((await store.claim('anonymous\ndown', 5000)).state, 'claimed', 'the refused claim was never written later');
    } finally {
      await own.close();
      await eventually(() => connection.state === 'ready', 'the shared connection is back', 10_000);
    }
  });

  test('heartbeats: a Redis stalled (SIGSTOP) longer than the lease reads nobody dead at once; a replica that stays silent reads dead a lease after Redis answers again', async () => {
    const lease = 1500;
    const checker = new ReplicaHeartbeat(connection, lease);
    // The owner: one beat landed, then its process is cut off from Redis (its connection closed), as a dead or stuck replica's.
    const ownerConnection = new RedisConnection(server.url, recorder());
    await eventually(() => ownerConnection.state === 'ready', 'ready');
    const owner = new ReplicaHeartbeat(ownerConnection, lease);
    await eventually(async () => (await inspect.exists(owner.key)) === 1, 'the owner beat');
    await ownerConnection.close();
    assert.equal(await checker.alive(owner.instance), true);
    server.pause();
    await new Promise((resolve) => setTimeout(resolve, lease + 1500));
    server.resume();
    try {
      await eventually(() => connection.state === 'ready' && !connection.client.commandQueue.length, 'Redis answers again', 5000);
      const resumed = Date.now();
      assert.equal(await checker.alive(owner.instance), true, 'every beat is over a lease old on Redis\'s clock: a stall, not a death');
      await eventually(async () => !(await checker.alive(owner.instance)), 'the silent owner reads dead', 3 * lease);
      assert.ok(Date.now() - resumed >= lease - 200, `read dead ${Date.now() - resumed} ms after Redis answered again`);
    } finally {
      await checker.stop();
    }
  });

  test('a stalled Redis (SIGSTOP): a claim is refused within the command timeout, and taken back once Redis runs again', async () => {
    const store = new RedisIdempotencyStore(connection, 60_000, heartbeat);
    server.pause();
    try {
      const started = Date.now();
      const refused = await store.claim('anonymous\nstalled', 30_000).then(() => undefined, (err: unknown) => err);
      assert.equal((refused as BridgeError)?.code, 'SHARED_STATE_UNAVAILABLE');
      assert.ok(Date.now() - started < REDIS_COMMAND_TIMEOUT_MS + 500, `refused after ${Date.now() - started} ms`);
      assert.equal(connection.state, 'unavailable');
    } finally {
      server.resume();
    }
    // The script was in the socket and ran when Redis resumed, past its deadline: it must not stand for its 30 s lease.
    await eventually(async () => (await inspect.exists('ignite:idem:anonymous\nstalled')) === 0, 'the refused claim was taken back', 5000);
    assert.equal((await store.claim('anonymous\nstalled', 5000)).state, 'claimed');
    await eventually(() => connection.state === 'ready', 'ready again');
  });

  describe('RedisImportJobs', () => {
    const LEASE_MS = 600;

    test('any replica reads a job: running while its heartbeat lives, then its result', async () => {
      const runner = new RedisImportJobs(connection, LEASE_MS, recorder());
      const reader = new RedisImportJobs(connection, LEASE_MS, recorder());
      const job = await runner.create();
      assert.deepEqual(await reader.get(job.importId), { importId: job.importId, status: 'running' });
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 2));
      assert.equal((await reader.get(job.importId))?.status, 'running', 'the heartbeat keeps it alive');
      await runner.halfClosing(job.importId);
      await runner.finish(job.importId, { result: { contextId: 'ctx_1', sizeBytes: '9' } });
      assert.deepEqual(await reader.get(job.importId), { importId: job.importId, status: 'succeeded', result: { contextId: 'ctx_1', sizeBytes: '9' } });
      assert.equal(await inspect.exists(`ignite:import:${job.importId}:alive`), 0);
      const ttl = await inspect.pttl(`ignite:import:${job.importId}`);
      assert.ok(ttl > 23 * 3600_000, `results kept a day (PTTL ${ttl})`);
      assert.equal(await reader.get('imp_unknown'), undefined);
      runner.close();
    });

    test('a job whose replica stopped beating reads failed, or unknown once it had reached its half-close', async () => {
      const reader = new RedisImportJobs(connection, LEASE_MS, recorder());
      const dead = new RedisImportJobs(connection, LEASE_MS, recorder());
      const receiving = await dead.create();
      const halfClosed = await dead.create();
      await dead.halfClosing(halfClosed.importId);
      dead.close(); // the replica is gone: no more heartbeats
      await eventually(async () => (await reader.get(receiving.importId))?.status === 'failed', 'failed after the lease', LEASE_MS * 3);
      const failed = await reader.get(receiving.importId);
      assert.equal(failed?.error?.code, 14);
      assert.match(failed!.error!.message, /stopped .* nothing was stored/);
      // Its heartbeat was renewed at the half-close, a moment later.
      await eventually(async () => (await reader.get(halfClosed.importId))?.status !== 'running', 'its lease ran out too', LEASE_MS * 3);
      const unknown = await reader.get(halfClosed.importId);
      assert.equal(unknown?.status, 'unknown');
      assert.equal(unknown?.error?.code, 4);
      assert.match(unknown!.error!.message, /after the whole archive was sent: whether the context was stored is unknown/);
    });

    test('a replica whose heartbeat lapsed may not half-close: other replicas already read the job failed', async () => {
      const runner = new RedisImportJobs(connection, LEASE_MS, recorder());
      const job = await runner.create();
      await inspect.del(`ignite:import:${job.importId}:alive`); // as if Redis had been out of reach past the lease
      await assert.rejects(runner.halfClosing(job.importId), (err: BridgeError) => err.code === 'IMPORT_LEASE_LOST');
      runner.close();
    });
  });
});
