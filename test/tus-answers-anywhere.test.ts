import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startReplicas } from './bridge-process.js';
import { gzipLike, startStack } from './helpers.js';
import { redisSkip } from './redis-server.js';

/** The headers a tus client reads (all but the connection's own). */
const TUS_HEADERS = [
  'tus-resumable', 'cache-control', 'upload-offset', 'upload-length', 'upload-defer-length', 'upload-metadata', 'upload-expires',
  'ignite-context-id', 'ignite-size-bytes', 'ignite-build-state', 'ignite-build-id', 'ignite-build-error', 'content-type',
];

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
  /** The created upload's URL path. */
  location?: string | undefined;
}

async function tus(url: string, method: 'POST' | 'PATCH' | 'HEAD', headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  const res = await request(url, {
    method,
    headers: { 'tus-resumable': '1.0.0', ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}), ...headers },
    body,
  });
  const kept: Record<string, string | undefined> = {};
  for (const name of TUS_HEADERS) {
    const value = res.headers[name];
    if (value !== undefined) kept[name] = String(value);
  }
  const location = res.headers['location'];
  return { status: res.statusCode, headers: kept, body: await res.body.text(), ...(location === undefined ? {} : { location: String(location) }) };
}

/** An answer as another upload with the same life would get it: its expiry and its context's id are its own. */
function shape({ status, headers, body }: Answer): Omit<Answer, 'location'> {
  const { 'upload-expires': expires, 'ignite-context-id': contextId, ...rest } = headers;
  assert.ok(expires === undefined || !Number.isNaN(Date.parse(expires)), `Upload-Expires ${expires}`);
  return { status, headers: { ...rest, ...(contextId === undefined ? {} : { 'ignite-context-id': '(its id)' }) }, body: body.replace(/"contextId":"[^"]+"/, '"contextId":"(its id)"') };
}

const METADATA = `filename ${Buffer.from('ctx.tar.gz').toString('base64')},note ${Buffer.from('same everywhere').toString('base64')}`;
const ARCHIVE = gzipLike(700_000);
const CUT = 300_000;

test('a tus upload is answered the same wherever it lives: held by this process, forwarded to its owner, from its shared record, and with its owner gone', { skip: redisSkip }, async (t) => {
  // One replica, no Redis: every answer comes from the upload this process holds.
  const single = await startStack(t);
  const alone = async (path: string) => shape(await tus(`${single.baseUrl}${path}`, 'HEAD', {}));
  const created = await tus(`${single.baseUrl}/v1/ignite/uploads`, 'POST', { 'upload-defer-length': '1', 'upload-metadata': METADATA });
  assert.equal(created.status, 201, created.body);
  const one = created.location!;
  const expected = { created: shape(created), fresh: await alone(one) } as Record<string, Omit<Answer, 'location'>>;
  assert.equal((await tus(`${single.baseUrl}${one}`, 'PATCH', { 'upload-offset': '0' }, ARCHIVE.subarray(0, CUT))).status, 204);
  expected['paused'] = await alone(one);
  const final = await tus(`${single.baseUrl}${one}`, 'PATCH', { 'upload-offset': String(CUT), 'upload-length': String(ARCHIVE.length) }, ARCHIVE.subarray(CUT));
  assert.equal(final.status, 200, final.body);
  expected['final'] = shape(final);
  expected['stored'] = await alone(one);
  expected['again'] = shape(await tus(`${single.baseUrl}${one}`, 'PATCH', { 'upload-offset': String(ARCHIVE.length) }, Buffer.alloc(0)));
  assert.equal(expected['stored']!.headers['upload-length'], String(ARCHIVE.length), 'the deferred length, once declared');
  assert.equal(expected['stored']!.headers['upload-metadata'], METADATA);

  // Two replicas sharing Redis: created on B (an unclaimed record), held by A from its first PATCH.
  const replicas = await startReplicas();
  t.after(() => replicas.close());
  const { a, b } = replicas;
  const shared = await tus(`${b.url}/v1/ignite/uploads`, 'POST', { 'upload-defer-length': '1', 'upload-metadata': METADATA });
  const path = shared.location!;
  assert.deepEqual(shape(shared), expected['created']);
  const head = async (url: string) => tus(`${url}${path}`, 'HEAD', {});
  for (const url of [a.url, b.url]) assert.deepEqual(shape(await head(url)), expected['fresh'], `unclaimed, HEAD on ${url === a.url ? 'A' : 'B'} from the record`);
  assert.equal((await tus(`${a.url}${path}`, 'PATCH', { 'upload-offset': '0' }, ARCHIVE.subarray(0, CUT))).status, 204, 'A claims it');
  const paused = await head(a.url);
  assert.deepEqual(shape(paused), expected['paused'], 'paused, HEAD on its owner A');
  assert.deepEqual(await head(b.url), paused, 'paused, HEAD through B, forwarded to A');
  const stored = await tus(`${b.url}${path}`, 'PATCH', { 'upload-offset': String(CUT), 'upload-length': String(ARCHIVE.length) }, ARCHIVE.subarray(CUT));
  assert.deepEqual(shape(stored), expected['final'], 'the final PATCH, through B');

  const held = await head(a.url);
  assert.deepEqual(shape(held), expected['stored'], 'stored, HEAD on its owner A');
  // Ended: B answers from the record A wrote, with headers of its own making, which must be A's to the byte.
  assert.deepEqual(await head(b.url), held, 'stored, HEAD on B from the record');
  const againHeld = await tus(`${a.url}${path}`, 'PATCH', { 'upload-offset': String(ARCHIVE.length) }, Buffer.alloc(0));
  assert.deepEqual(shape(againHeld), expected['again'], 'the final PATCH again, on A');
  assert.deepEqual(await tus(`${b.url}${path}`, 'PATCH', { 'upload-offset': String(ARCHIVE.length) }, Buffer.alloc(0)), againHeld, 'the final PATCH again, on B from the record');

  a.child.kill('SIGKILL');
  await a.exited;
  assert.deepEqual(await head(b.url), held, 'stored, HEAD on B with its owner gone');
});
