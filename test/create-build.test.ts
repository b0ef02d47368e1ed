import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { buildRequest, MAX_TAGS } from '../src/builds/build-request.js';
import { BuildClient, MAX_BUILD_ANSWER_BYTES } from '../src/builds/create-build.js';
import { BridgeError } from '../src/errors.js';
import type { BuildRecord } from '../src/reference-upstream/server.js';
import { unusedPort } from './helpers.js';
import { startReference } from './reference-helpers.js';

const CONTEXT_ID = 'ctx_01HZX9AAAAAAAAAAAAAAAAAAAA';

function client(t: TestContext, url: string, timeoutMs = 5000): BuildClient {
  const c = new BuildClient(url, timeoutMs);
  t.after(() => c.close());
  return c;
}

/** An HTTP server answering CreateBuild however the test says, closed after it. */
async function api(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('build requests: validated before any byte is forwarded', () => {
  test('build name and tags, in every spelling the forms use', () => {
    assert.equal(buildRequest(undefined, undefined), undefined);
    assert.deepEqual(buildRequest('web', undefined), { name: 'web', tags: [] });
    assert.deepEqual(buildRequest('web', 'latest,v2'), { name: 'web', tags: ['latest', 'v2'] });
    assert.deepEqual(buildRequest('web', ['latest', 'v2,v3', 'latest']), { name: 'web', tags: ['latest', 'v2', 'v3'] });
    assert.deepEqual(buildRequest('wéb app', ' latest , '), { name: 'wéb app', tags: ['latest'] });
  });

  test('every invalid request is INVALID_BUILD (400) naming what is wrong', () => {
    const refused: Array<[unknown, unknown, RegExp]> = [
      [undefined, 'latest', /without a build name/],
      ['', undefined, /empty/],
      ['x'.repeat(256), undefined, /256 bytes/],
      ['a\nb', undefined, /control characters/],
      [['a', 'b'], undefined, /one string/],
      ['web', '-bad', /"-bad"/],
      ['web', '.bad', /"\.bad"/],
      ['web', 'a'.repeat(129), /not a valid tag/],
      ['web', 'with space', /not a valid tag/],
      ['web', Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`), /17 tags/],
      ['web', [1], /strings/],
    ];
    for (const [build, tags, message] of refused) {
      assert.throws(() => buildRequest(build, tags), (err: unknown) =>
        err instanceof BridgeError && err.code === 'INVALID_BUILD' && err.httpStatus === 400 && message.test(err.message), JSON.stringify([build, tags]));
    }
    assert.deepEqual(buildRequest('web', Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`))?.tags.length, MAX_TAGS);
  });
});

describe('the CreateBuild client', () => {
  test('started: the API answer verbatim, its id, and the caller\'s headers passed on', async (t) => {
    const reference = await startReference(t, { token: 's3cret' });
    await writeFile(join(reference.store.dir, `${CONTEXT_ID}.json`), '{}');
    const created = once(reference.events, 'build') as Promise<[BuildRecord]>;
    const outcome = await client(t, reference.apiUrl).create({ name: 'web', tags: ['latest'] }, CONTEXT_ID, { authorization: 'Bearer s3cret', 'x-request-id': 'req-1' });
    assert.equal(outcome.kind, 'started');
    const [record] = await created;
    assert.ok(outcome.kind === 'started');
    assert.equal(outcome.id, record.id);
    assert.deepEqual(JSON.parse(outcome.json), record);
  });

  test('refused by the API: not started, with its status, message and details', async (t) => {
    const reference = await startReference(t, { token: 's3cret' });
    const unauthorized = await client(t, reference.apiUrl).create({ name: 'web', tags: [] }, CONTEXT_ID, {});
    assert.deepEqual(unauthorized, { kind: 'not-started', apiStatus: 401, message: 'missing or invalid bearer token', details: [] });
    const missing = await client(t, reference.apiUrl).create({ name: 'web', tags: [] }, CONTEXT_ID, { authorization: 'Bearer s3cret' });
    assert.equal(missing.kind, 'not-started');
    assert.ok(missing.kind === 'not-started' && missing.apiStatus === 404 && /never stored/.test(missing.message));
    const detail = { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'QUOTA' };
    const url = await api(t, (_req, res) => res.writeHead(429, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 8, message: 'quota', details: [detail] })));
    assert.deepEqual(await client(t, url).create({ name: 'web', tags: [] }, CONTEXT_ID, {}), { kind: 'not-started', apiStatus: 429, message: 'quota', details: [detail] });
  });

  test('a gateway\'s 502 or 504 is unknown (the API behind it may have created the build); its 500 and 503 are not started', async (t) => {
    let status = 502;
    const url = await api(t, (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'upstream timed out' })));
    const c = client(t, url);
    for (status of [502, 504]) {
      assert.deepEqual(await c.create({ name: 'web', tags: [] }, CONTEXT_ID, {}),
        { kind: 'unknown', reason: `the build API answered ${status} (a gateway between us and it gave up): upstream timed out` }, String(status));
    }
    for (status of [500, 503]) {
      assert.deepEqual(await c.create({ name: 'web', tags: [] }, CONTEXT_ID, {}), { kind: 'not-started', apiStatus: status, message: 'upstream timed out', details: [] }, String(status));
    }
  });

  test('an API that cannot be reached: not started (nothing was sent)', async (t) => {
    const port = await unusedPort();
    const outcome = await client(t, `http://127.0.0.1:${port}`).create({ name: 'web', tags: [] }, CONTEXT_ID, {});
    assert.equal(outcome.kind, 'not-started');
    assert.ok(outcome.kind === 'not-started' && outcome.apiStatus === 0 && /ECONNREFUSED/.test(outcome.message));
  });

  test('no answer in time, a connection cut mid-answer, an unreadable or oversized answer: unknown', async (t) => {
    const slow = await startReference(t, { buildApi: { faults: { delayMs: 1500 } } });
    await writeFile(join(slow.store.dir, `${CONTEXT_ID}.json`), '{}');
    const created = once(slow.events, 'build');
    const late = await client(t, slow.apiUrl, 300).create({ name: 'web', tags: [] }, CONTEXT_ID, {});
    assert.deepEqual(late, { kind: 'unknown', reason: 'the build API did not answer within 300 ms (BUILD_REQUEST_TIMEOUT_MS)' });
    // The build the bridge gave up on exists all the same: why the outcome is "unknown", never "not started".
    await created;

    const cut = await api(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"id":');
      setTimeout(() => res.destroy(), 20);
    });
    assert.equal((await client(t, cut).create({ name: 'web', tags: [] }, CONTEXT_ID, {})).kind, 'unknown');

    const notJson = await api(t, (_req, res) => res.writeHead(200).end('<html>ok</html>'));
    assert.deepEqual(await client(t, notJson).create({ name: 'web', tags: [] }, CONTEXT_ID, {}), { kind: 'unknown', reason: 'the build API answered 200 with something that is not a JSON object' });

    const huge = await api(t, (_req, res) => res.writeHead(200).end(JSON.stringify({ id: 'bld_1', pad: 'x'.repeat(MAX_BUILD_ANSWER_BYTES) })));
    assert.deepEqual(await client(t, huge).create({ name: 'web', tags: [] }, CONTEXT_ID, {}), { kind: 'unknown', reason: `the build API answered 200 with more than ${MAX_BUILD_ANSWER_BYTES} bytes` });
  });

  test('the id is the answer\'s id, else buildId, when a string', async (t) => {
    let answer: object = { buildId: 'b-7' };
    const url = await api(t, (_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
    const c = client(t, url);
    assert.deepEqual(await c.create({ name: 'web', tags: [] }, CONTEXT_ID, {}), { kind: 'started', json: '{"buildId":"b-7"}', id: 'b-7' });
    answer = { id: 7 };
    assert.deepEqual(await c.create({ name: 'web', tags: [] }, CONTEXT_ID, {}), { kind: 'started', json: '{"id":7}', id: undefined });
  });
});
