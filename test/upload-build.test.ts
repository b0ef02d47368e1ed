import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { request } from 'undici';
import type { BuildRecord } from '../src/reference-upstream/build-api.js';
import type { BuildFaults } from '../src/reference-upstream/build-api.js';
import { assertNothingStored, assertRefusal, curl, markUpstream, gzipLike, multipartForm, sha256, startStack, storedBytes, unusedPort, type Stack, type StackOptions } from './helpers.js';
import { eventually, head, RawClient } from './raw-http.js';
import { signatureHeaders, startSource } from './webhook-helpers.js';
import { allDocs } from './docs.js';

interface Built {
  contextId: string;
  sizeBytes: string;
  build: BuildRecord;
}

/** A stack whose CreateBuild faults the test may change between requests, and the builds it created. */
async function buildStack(t: TestContext, options: StackOptions = {}) {
  const faults: BuildFaults = {};
  const stack = await startStack(t, { ...options, reference: { ...options.reference, buildApi: { faults } } });
  const builds: BuildRecord[] = [];
  stack.reference.events.on('build', (record: BuildRecord) => builds.push(record));
  return { stack, faults, builds };
}

/** The build records on the reference's disk. */
async function buildsOnDisk(stack: Stack): Promise<BuildRecord[]> {
  const dir = join(stack.dataDir, 'builds');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as BuildRecord));
}

const storedContexts = (stack: Stack) => stack.observed.filter((o) => o.outcome === 'stored');

/** A 200 with the build: the API's record under `build`, naming the stored context with the right bytes. */
async function assertBuilt(stack: Stack, reply: { status: number; body: string; headers?: Record<string, unknown> }, archive: Buffer, name: string, tags: string[]): Promise<Built> {
  assert.equal(reply.status, 200, reply.body);
  const body = JSON.parse(reply.body) as Built;
  assert.deepEqual(Object.keys(body), ['contextId', 'sizeBytes', 'build']);
  assert.equal(body.sizeBytes, String(archive.length));
  assert.equal(sha256(await storedBytes(stack, body.contextId)), sha256(archive));
  assert.match(body.build.id, /^bld_/);
  assert.equal(body.build.contextId, body.contextId);
  assert.equal(body.build.name, name);
  assert.deepEqual(body.build.tags, tags);
  assert.equal(body.build.state, 'QUEUED');
  const onDisk = await buildsOnDisk(stack);
  assert.deepEqual(onDisk.filter((b) => b.id === body.build.id), [body.build]);
  if (reply.headers) {
    assert.equal(reply.headers['ignite-context-id'], body.contextId);
    assert.equal(reply.headers['ignite-size-bytes'], body.sizeBytes);
    assert.equal(reply.headers['ignite-build-id'], body.build.id);
  }
  return body;
}

async function put(stack: Stack, path: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await request(`${stack.baseUrl}${path}`, { method: 'PUT', body, headers });
  return { status: res.statusCode, headers: res.headers as Record<string, unknown>, body: await res.body.text() };
}

/** Headers only, `Expect: 100-continue`: the first answer is the refusal, never a 100; no body is ever sent. */
async function refusedBeforeBody(stack: Stack, method: string, path: string, headers: Record<string, string | number> = {}) {
  const client = await RawClient.connect(stack.baseUrl);
  try {
    await client.write(head(method, path, { 'content-length': 100_000, expect: '100-continue', ...headers }));
    const reply = await client.response();
    assert.deepEqual(reply.interim, [], 'no 100 Continue before the refusal');
    return { status: reply.status, body: reply.body };
  } finally {
    client.destroy();
  }
}

describe('upload and build in one request', () => {
  test('curl -T with ?build=&tags=: 200 with the API\'s record under build, the Ignite-* headers, one context, one build', async (t) => {
    const { stack, builds, faults } = await buildStack(t);
    const dir = await mkdtemp(join(tmpdir(), 'build-curl-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const archive = gzipLike(3 * 524288 + 17);
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    const reply = await curl(['-D', join(dir, 'headers'), '-T', join(dir, 'ctx.tar.gz'), `${stack.baseUrl}/v1/ignite/contexts/ctx.tar.gz?build=my-app&tags=latest,v2&tags=v3`]);
    const headers = Object.fromEntries((await readFile(join(dir, 'headers'), 'utf8')).split('\r\n').filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const built = await assertBuilt(stack, { ...reply, headers }, archive, 'my-app', ['latest', 'v2', 'v3']);
    assert.equal(storedContexts(stack).length, 1);
    assert.deepEqual(builds.map((b) => b.id), [built.build.id]);

    // Without build the answer is as before: no build key, no build.
    const plain = await put(stack, '/v1/ignite/contexts/plain.tar.gz', gzipLike(1000));
    assert.deepEqual(Object.keys(JSON.parse(plain.body) as object), ['contextId', 'sizeBytes']);
    assert.equal(builds.length, 1);

    // Counted by outcome, with the call's duration; a refused one as not_started.
    faults.status = 500;
    assert.equal((await put(stack, '/v1/ignite/contexts/refused.tar.gz?build=my-app', gzipLike(1000))).status, 424);
    const metrics = await (await request(`${stack.baseUrl}/metrics`)).body.text();
    assert.match(metrics, /^ignite_bridge_builds_total\{outcome="started"\} 1$/m);
    assert.match(metrics, /^ignite_bridge_builds_total\{outcome="not_started"\} 1$/m);
    assert.match(metrics, /^ignite_bridge_build_request_duration_seconds_count\{outcome="started"\} 1$/m);
  });

  test('curl -F with build and tags before or after the file: built; after it they are checked before the half-close', async (t) => {
    const { stack, builds } = await buildStack(t);
    const dir = await mkdtemp(join(tmpdir(), 'build-form-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const archive = gzipLike(2 * 524288 + 3);
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    const reply = await curl(['-F', 'build=form-app', '-F', 'tags=latest', '-F', 'tags=v1', '-F', `file=@${join(dir, 'ctx.tar.gz')}`, `${stack.baseUrl}/v1/ignite/contexts`]);
    await assertBuilt(stack, reply, archive, 'form-app', ['latest', 'v1']);
    // curl sends the parts in the order given: the documented `curl -F file=@ctx.tar.gz -F build=my-app`.
    const after = await curl(['-F', `file=@${join(dir, 'ctx.tar.gz')}`, '-F', 'build=my-app', '-F', 'tags=latest', `${stack.baseUrl}/v1/ignite/contexts`]);
    await assertBuilt(stack, after, archive, 'my-app', ['latest']);
    assert.equal(builds.length, 2);

    // After the file, a bad build or a field that shapes the upload cancels the call: nothing is stored.
    for (const [parts, message, reason] of [
      [[{ name: 'build', value: 'a' }, { name: 'tags', value: '-bad' }], /the tag "-bad" is not a valid tag/, 'INVALID_BUILD'],
      [[{ name: 'build', value: 'a' }, { name: 'build', value: 'b' }], /"build" is given twice/, 'UNEXPECTED_PART'],
      [[{ name: 'name', value: 'late.tar.gz' }], /"name" comes after the file part/, 'UNEXPECTED_PART'],
    ] as const) {
      const mark = await markUpstream(stack);
      const form = multipartForm([{ name: 'file', filename: 'late.tar.gz', data: gzipLike(600_000) }, ...parts]);
      const ended = stack.nextObservation();
      const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form.body, headers: form.headers });
      assertRefusal({ status: res.statusCode, body: await res.body.text() }, 400, 3, message, reason);
      assert.equal((await ended).outcome, 'cancelled');
      await assertNothingStored(stack, mark);
    }

    // An invalid tag in a field before the file is refused when it arrives, before the file part is read.
    const mark = await markUpstream(stack);
    const bad = multipartForm([{ name: 'build', value: 'x' }, { name: 'tags', value: '-bad' }, { name: 'file', filename: 'b.tar.gz', data: gzipLike(5000) }]);
    const badRes = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: bad.body, headers: bad.headers });
    assertRefusal({ status: badRes.statusCode, body: await badRes.body.text() }, 400, 3, /the tag "-bad" is not a valid tag/, 'INVALID_BUILD');
    await assertNothingStored(stack, mark);
    assert.equal(builds.length, 2);

    // Builds off: a build after the file cancels the call too.
    const off = await startStack(t, { config: { apiUrl: undefined } });
    const offMark = await markUpstream(off);
    const offForm = multipartForm([{ name: 'file', filename: 'o.tar.gz', data: gzipLike(600_000) }, { name: 'build', value: 'app' }]);
    const offRes = await request(`${off.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: offForm.body, headers: offForm.headers });
    assertRefusal({ status: offRes.statusCode, body: await offRes.body.text() }, 400, 3, /IGNITE_API_URL is not set/, 'BUILD_NOT_CONFIGURED');
    await assertNothingStored(off, offMark);
  });

  test('invalid build or tags, and no IGNITE_API_URL: 400 before the body, the upstream never saw a call', async (t) => {
    const { stack } = await buildStack(t);
    assertRefusal(await refusedBeforeBody(stack, 'PUT', `/v1/ignite/contexts/a.tar.gz?build=app&tags=${'t,'.repeat(17)}`), 400, 3, /17 tags were given, at most 16/, 'INVALID_BUILD');
    assertRefusal(await refusedBeforeBody(stack, 'PUT', '/v1/ignite/contexts/a.tar.gz?build=app&tags=bad%20tag'), 400, 3, /not a valid tag/, 'INVALID_BUILD');
    assertRefusal(await refusedBeforeBody(stack, 'PUT', '/v1/ignite/contexts/a.tar.gz?build=a&build=b'), 400, 3, /one string/, 'INVALID_BUILD');
    assertRefusal(await refusedBeforeBody(stack, 'POST', '/v1/ignite/contexts?name=a.tar.gz&tags=latest'), 400, 3, /without a build name/, 'INVALID_BUILD');

    const off = await startStack(t, { config: { apiUrl: undefined } });
    assertRefusal(await refusedBeforeBody(off, 'PUT', '/v1/ignite/contexts/a.tar.gz?build=app'), 400, 3, /IGNITE_API_URL is not set/, 'BUILD_NOT_CONFIGURED');
    assertRefusal(await refusedBeforeBody(off, 'POST', '/v1/ignite/contexts?name=a.tar.gz&build=app', { 'content-type': 'multipart/form-data; boundary=x' }), 400, 3, /IGNITE_API_URL is not set/, 'BUILD_NOT_CONFIGURED');
    // A build field in a form on that bridge is refused when it arrives, before the file part.
    const form = multipartForm([{ name: 'build', value: 'app' }, { name: 'file', filename: 'f.tar.gz', data: gzipLike(5000) }]);
    const res = await request(`${off.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form.body, headers: form.headers });
    assertRefusal({ status: res.statusCode, body: await res.body.text() }, 400, 3, undefined, 'BUILD_NOT_CONFIGURED');
    assert.equal(stack.opened.length + off.opened.length, 0);
  });

  test('the API refuses (500): 424 BUILD_NOT_STARTED naming the stored context; nothing is uploaded again, and the key\'s retry starts only the build', async (t) => {
    const { stack, faults, builds } = await buildStack(t);
    const archive = gzipLike(700_000);
    faults.status = 500;
    const refused = await put(stack, '/v1/ignite/contexts/refused.tar.gz?build=app', archive, { 'idempotency-key': 'k-refused' });
    const info = assertRefusal(refused, 424, 9, /^The context was stored as ctx_\S+, but the build did not start: CreateBuild answered 500 \(injected failure\)/, 'BUILD_NOT_STARTED');
    const [stored] = storedContexts(stack);
    assert.equal(info.metadata['contextId'], stored!.contextId);
    assert.equal(info.metadata['apiStatus'], '500');
    assert.equal(info.metadata['apiMessage'], 'injected failure');
    assert.equal(refused.headers['ignite-context-id'], stored!.contextId);
    assert.equal(builds.length, 0);

    // Still refusing: the retry retries only CreateBuild, and says so again.
    const again = await put(stack, '/v1/ignite/contexts/refused.tar.gz?build=app', archive, { 'idempotency-key': 'k-refused' });
    assert.equal(assertRefusal(again, 424, 9, undefined, 'BUILD_NOT_STARTED').metadata['contextId'], stored!.contextId);
    delete faults.status;
    const retried = await put(stack, '/v1/ignite/contexts/refused.tar.gz?build=app', archive, { 'idempotency-key': 'k-refused' });
    const built = await assertBuilt(stack, retried, archive, 'app', []);
    assert.equal(built.contextId, stored!.contextId);
    // A completed pair is replayed byte for byte.
    const replay = await put(stack, '/v1/ignite/contexts/refused.tar.gz?build=app', archive, { 'idempotency-key': 'k-refused' });
    assert.equal(replay.status, 200);
    assert.equal(replay.body, retried.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.headers['ignite-build-id'], built.build.id);
    // The same key for another build is another request.
    assertRefusal(await put(stack, '/v1/ignite/contexts/refused.tar.gz?build=other', archive, { 'idempotency-key': 'k-refused' }), 422, 9, undefined, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(stack.opened.length, 1, 'one upstream call: the retries were hashed, never sent');
    assert.equal(builds.length, 1);
  });

  test('without a key the 424 is the end of it: a curl --retry 3 does not upload again', async (t) => {
    const { stack, faults, builds } = await buildStack(t);
    faults.status = 503;
    const reply = await curl(['--retry', '3', '--retry-delay', '0', '-T', '-', `${stack.baseUrl}/v1/ignite/contexts/retry.tar.gz?build=app`], gzipLike(100_000));
    assertRefusal(reply, 424, 9, /CreateBuild answered 503/, 'BUILD_NOT_STARTED');
    assert.equal(stack.opened.length, 1);
    assert.equal(builds.length, 0);
  });

  test('the API slower than BUILD_REQUEST_TIMEOUT_MS: 424 BUILD_OUTCOME_UNKNOWN (the build exists), and a retry with the key stays 424, nothing created', async (t) => {
    const { stack, faults, builds } = await buildStack(t, { config: { buildRequestTimeoutMs: 300 } });
    const archive = gzipLike(200_000);
    faults.delayMs = 1500;
    const created = once(stack.reference.events, 'build');
    const slow = await put(stack, '/v1/ignite/contexts/slow.tar.gz?build=slow-app', archive, { 'idempotency-key': 'k-slow' });
    const info = assertRefusal(slow, 424, 9, /^The context was stored as ctx_\S+, but whether the build started is unknown \(the build API did not answer within 300 ms/, 'BUILD_OUTCOME_UNKNOWN');
    const [record] = await created as [BuildRecord];
    assert.equal(record.contextId, info.metadata['contextId']);
    delete faults.delayMs;
    const retry = await put(stack, '/v1/ignite/contexts/slow.tar.gz?build=slow-app', archive, { 'idempotency-key': 'k-slow' });
    assert.equal(assertRefusal(retry, 424, 9, undefined, 'BUILD_OUTCOME_UNKNOWN').metadata['contextId'], record.contextId);
    assert.equal(builds.length, 1);
    assert.equal(stack.opened.length, 1);
  });

  test('the API unreachable (a closed port): 424 BUILD_NOT_STARTED with apiStatus 0', async (t) => {
    const { stack } = await buildStack(t, { config: { apiUrl: `http://127.0.0.1:${await unusedPort()}` } });
    const reply = await put(stack, '/v1/ignite/contexts/x.tar.gz?build=app', gzipLike(50_000));
    const info = assertRefusal(reply, 424, 9, /CreateBuild could not be reached/, 'BUILD_NOT_STARTED');
    assert.equal(info.metadata['apiStatus'], '0');
    assert.equal(info.metadata['contextId'], storedContexts(stack)[0]!.contextId);
  });

  test('import JSON with build and tags, synchronous and asynchronous (the status carries the build)', async (t) => {
    const archive = gzipLike(300_000);
    const source = await startSource(t, (_req, res) => res.end(archive));
    const { stack, faults, builds } = await buildStack(t, { config: { importAllowHttp: true, importAllowPrivateAddresses: true } });
    const body = JSON.stringify({ url: `${source.origin}/ctx.tar.gz`, name: 'imported.tar.gz', build: 'imported', tags: ['latest'] });
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await assertBuilt(stack, { status: res.statusCode, body: await res.body.text(), headers: res.headers }, archive, 'imported', ['latest']);

    const poll = async (statusUrl: string) => {
      let status!: { status: string; result?: { contextId: string; build?: BuildRecord }; error?: { details: Array<{ reason?: string }> } };
      await eventually(async () => {
        status = await (await request(`${stack.baseUrl}${statusUrl}`)).body.json() as typeof status;
        return status.status !== 'running';
      }, 'the import finished');
      return status;
    };
    const started = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, { method: 'POST', body, headers: { 'content-type': 'application/json', prefer: 'respond-async' } });
    const job = await started.body.json() as { statusUrl: string };
    const done = await poll(job.statusUrl);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.result!.build!.contextId, done.result!.contextId);
    assert.ok(builds.some((b) => b.id === done.result!.build!.id));

    faults.status = 400;
    const failing = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, { method: 'POST', body, headers: { 'content-type': 'application/json', prefer: 'respond-async' } });
    const failed = await poll((await failing.body.json() as { statusUrl: string }).statusUrl);
    assert.equal(failed.status, 'failed');
    assert.match(failed.result!.contextId, /^ctx_/);
    assert.equal(failed.error!.details[0]!.reason, 'BUILD_NOT_STARTED');
    assert.equal(builds.length, 2);

    const badTags = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, { method: 'POST', body: JSON.stringify({ url: `${source.origin}/x`, name: 'x.tar.gz', build: 'x', tags: 'latest' }), headers: { 'content-type': 'application/json' } });
    assertRefusal({ status: badTags.statusCode, body: await badTags.body.text() }, 400, 3, /must be an array/, 'INVALID_BUILD');
    assert.equal(source.requests.length, 3, 'the refused import never downloaded');
  });
});

describe('signed webhook uploads that ask for a build', () => {
  const SECRET = 'webhook-secret-for-tests';
  const SERVICE_TOKEN = 'bridge-service-token';
  /** The reference accepts only the service token, for the upload and for CreateBuild. */
  const signedStack = (t: TestContext, { serviceToken }: { serviceToken?: string } = { serviceToken: SERVICE_TOKEN }) => buildStack(t, {
    config: { webhookSecret: SECRET, serviceToken },
    reference: { token: SERVICE_TOKEN },
  });
  const v2 = (method: string, target: string, body: Buffer, timestamp = Math.floor(Date.now() / 1000)) => {
    const mac = signatureHeaders(SECRET, Buffer.concat([Buffer.from(`${method}.${target}.`), body]), timestamp);
    return { ...mac, 'x-signature-256': mac['x-signature-256']!.replace('sha256=', 'v2=') };
  };

  test('v1 over a multipart body with build fields: built with IGNITE_SERVICE_TOKEN', async (t) => {
    const { stack, builds } = await signedStack(t);
    const archive = gzipLike(600_000);
    const form = multipartForm([{ name: 'build', value: 'hook-app' }, { name: 'tags', value: 'main' }, { name: 'file', filename: 'hook.tar.gz', data: archive }]);
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form.body, headers: { ...form.headers, ...signatureHeaders(SECRET, form.body) } });
    await assertBuilt(stack, { status: res.statusCode, body: await res.body.text() }, archive, 'hook-app', ['main']);
    assert.equal(builds.length, 1);
  });

  test('v2 over method, path?query and body: built; the captured request replayed with another ?build= is refused (401), nothing stored or built', async (t) => {
    const { stack, builds } = await signedStack(t);
    const archive = gzipLike(400_000);
    const target = '/v1/ignite/contexts/hook.tar.gz?build=hook-app&tags=v1';
    const headers = v2('PUT', target, archive);
    const built = await put(stack, target, archive, headers);
    await assertBuilt(stack, built, archive, 'hook-app', ['v1']);

    const cancelled = stack.nextObservation();
    const replayed = await put(stack, '/v1/ignite/contexts/hook.tar.gz?build=other-app&tags=v1', archive, headers);
    assertRefusal(replayed, 401, 16, /does not match/, 'UNAUTHENTICATED');
    assert.equal((await cancelled).outcome, 'cancelled');
    assert.equal(storedContexts(stack).length, 1);
    assert.equal(builds.length, 1);
  });

  test('the docs\' v2 recipe (openssl + curl) uploads and builds', async (t) => {
    const { stack, builds } = await signedStack(t);
    const readme = await allDocs();
    const script = /```sh\n(# Upload and build, signed with v2[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(script, 'the docs have the v2 shell block');
    const dir = await mkdtemp(join(tmpdir(), 'build-signed-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const archive = gzipLike(524288 + 9);
    await writeFile(join(dir, 'ctx.tar.gz'), archive);
    // Asynchronously: the bridge answers from this very process.
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env: { ...process.env, BRIDGE: stack.baseUrl, WEBHOOK_SECRET: SECRET } });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => { out.stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out.stderr += d.toString(); });
    const [code] = await once(child, 'close') as [number];
    assert.equal(code, 0, out.stdout + out.stderr);
    await assertBuilt(stack, { status: 200, body: out.stdout }, archive, 'my-app', ['latest']);
    assert.equal(builds.length, 1);
  });

  test('v1 with ?build= (unsigned) is 400 before the body; without IGNITE_SERVICE_TOKEN a signed build request is refused', async (t) => {
    const { stack } = await signedStack(t);
    const archive = gzipLike(10_000);
    assertRefusal(await refusedBeforeBody(stack, 'PUT', '/v1/ignite/contexts/a.tar.gz?build=app', signatureHeaders(SECRET, archive)), 400, 3, /v1 signature .* does not cover/, 'BUILD_NOT_SIGNED');
    // Still fine without a build: v1 keeps working for uploads.
    assert.equal((await put(stack, '/v1/ignite/contexts/a.tar.gz', archive, signatureHeaders(SECRET, archive))).status, 200);

    const { stack: tokenless } = await signedStack(t, {});
    const target = '/v1/ignite/contexts/a.tar.gz?build=app';
    assertRefusal(await refusedBeforeBody(tokenless, 'PUT', target, v2('PUT', target, archive)), 400, 3, /IGNITE_SERVICE_TOKEN/, 'SIGNED_BUILD_NEEDS_SERVICE_TOKEN');
    assert.equal(tokenless.opened.length, 0);
  });
});
