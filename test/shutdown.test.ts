import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnBridge } from './bridge-process.js';
import { gzipLike } from './helpers.js';
import { chunked, eventually, head, RawClient } from './raw-http.js';

async function readyz(url: string): Promise<{ status: number; body: { status: string; uploadsInFlight: number } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; uploadsInFlight: number } };
}

/** Opens a chunked PUT and sends the first part of the archive, then holds the connection. */
async function startUpload(url: string, name: string, first: Buffer): Promise<RawClient> {
  const client = await RawClient.connect(url);
  await client.write(head('PUT', `/v1/ignite/contexts/${name}`, { 'transfer-encoding': 'chunked' }));
  await client.write(chunked([first]).subarray(0, -5)); // without the terminating chunk
  return client;
}

test('SIGTERM: readyz and new uploads turn 503, uploads finishing within the grace are stored, the rest cancelled, exit 0', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bridge-shutdown-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const bridge = await spawnBridge(t, { IGNITE_DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: '1500', UPLOAD_IDLE_TIMEOUT_MS: '60000' });
  t.after(() => { if (bridge.child.exitCode === null) bridge.child.kill('SIGKILL'); });
  assert.equal((await readyz(bridge.url)).status, 200);

  const finishing = gzipLike(700_000);
  const quick = await startUpload(bridge.url, 'finishes.tar.gz', finishing.subarray(0, 300_000));
  const stuck = await startUpload(bridge.url, 'stuck.tar.gz', gzipLike(300_000));
  await eventually(async () => (await readyz(bridge.url)).body.uploadsInFlight === 2, 'two uploads are in flight');

  bridge.child.kill('SIGTERM');
  await eventually(async () => (await readyz(bridge.url)).status === 503, 'readyz reports draining');
  const ready = await readyz(bridge.url);
  assert.equal(ready.body.status, 'draining');

  const refused = await RawClient.connect(bridge.url);
  await refused.write(head('PUT', '/v1/ignite/contexts/late.tar.gz', { 'content-length': 1000, expect: '100-continue' }));
  const late = await refused.response();
  assert.equal(late.status, 503, late.body);
  assert.equal(late.json.code, 14);
  assert.match(late.json.message!, /shutting down/);
  assert.equal(late.headers['retry-after'], '5');
  assert.deepEqual(late.interim, []);

  // Finishes inside the grace period: stored and answered normally.
  await quick.write(chunked([finishing.subarray(300_000)]));
  const done = await quick.response();
  assert.equal(done.status, 200, done.body);
  assert.equal(done.json.sizeBytes, String(finishing.length));

  // Never finishes: cancelled when the grace period is over.
  const cancelled = await stuck.response();
  assert.equal(cancelled.status, 503, cancelled.body);
  assert.equal(cancelled.json.code, 14);
  assert.match(cancelled.json.message!, /shut down before this upload finished/);

  assert.equal(await bridge.exited, 0, bridge.logs.join('\n'));
  const stored = (await readdir(join(dataDir, 'contexts'))).sort();
  assert.deepEqual(stored, [done.json.contextId!, `${done.json.contextId!}.json`], 'only the finished upload is stored, no temp file');
  assert.ok(bridge.logs.some((line) => line.includes('"msg":"shut down"')), 'the shutdown completed');
  // Refused for want of room, like OVER_CAPACITY: a refusal, not a failure of the bridge.
  assert.ok(bridge.logs.some((line) => line.includes('"code":"SHUTTING_DOWN"') && line.includes('"outcome":"rejected"')), 'the refused upload is counted as rejected');
});

test('SIGINT with nothing in flight exits 0 at once', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bridge-shutdown-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const bridge = await spawnBridge(t, { IGNITE_DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: '60000' });
  t.after(() => { if (bridge.child.exitCode === null) bridge.child.kill('SIGKILL'); });
  const started = Date.now();
  bridge.child.kill('SIGINT');
  assert.equal(await bridge.exited, 0);
  assert.ok(Date.now() - started < 10_000, 'did not wait for the grace period');
});
