import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { configWith } from '../src/config.js';
import { loggerOptions } from '../src/observability/logger.js';
import { gzipLike, startStack, type Stack, multipartForm } from './helpers.js';
import { eventually } from './raw-http.js';

const CHUNK = 524288;
const TOKEN = 'secret-token-123';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Captures pino's output: every line the app logs, as written. */
function logCapture() {
  const lines: string[] = [];
  return {
    lines,
    stream: { write: (line: string) => void lines.push(line) },
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    uploads: () => lines.map((line) => JSON.parse(line) as { reqId: string; upload?: Record<string, unknown> }).filter((r) => r.upload),
  };
}

async function put(stack: Stack, name: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await request(`${stack.baseUrl}/v1/ignite/contexts/${name}`, { method: 'PUT', body, headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.json() as Record<string, unknown> };
}

async function metricsText(stack: Stack): Promise<string> {
  const res = await request(`${stack.baseUrl}/metrics`);
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return res.body.text();
}

/** The value of one sample, e.g. sample(text, 'ignite_bridge_uploads_total', {mode: 'put', outcome: 'ok'}). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('logs', () => {
  test('one structured line per upload; Authorization and the token never reach a log line', async (t) => {
    const logs = logCapture();
    const stack = await startStack(t, {
      reference: { token: TOKEN },
      logger: loggerOptions(configWith({ logLevel: 'trace' }), logs.stream),
    });
    const archive = gzipLike(3 * CHUNK + 100);
    const ok = await put(stack, 'ctx.tar.gz', archive, { authorization: `Bearer ${TOKEN}`, 'x-request-id': 'req-log-1', traceparent: TRACEPARENT });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    const form = multipartForm([{ name: 'name', value: 'form.tar.gz' }, { name: 'file', filename: 'x.tar.gz', data: gzipLike(1000) }]);
    const multipart = await request(`${stack.baseUrl}/v1/ignite/contexts`, {
      method: 'POST', body: form.body, headers: { ...form.headers, authorization: `Bearer ${TOKEN}`, 'x-request-id': 'req-log-2' },
    });
    assert.equal(multipart.statusCode, 200, await multipart.body.text());

    // A wrong token still carries the secret in its prefix; the upstream refuses it.
    const refused = await put(stack, 'bad.tar.gz', gzipLike(2 * CHUNK), { authorization: `Bearer ${TOKEN}-but-wrong`, 'x-request-id': 'req-log-3' });
    assert.equal(refused.status, 401);

    const all = logs.lines.join('');
    assert.ok(logs.lines.length >= 6, `pino wrote ${logs.lines.length} lines`);
    assert.ok(!all.includes(TOKEN), 'the token appears in the logs');
    // (The 401's message may say "send `Authorization: Bearer <token>`"; no real credential may follow "Bearer".)
    assert.doesNotMatch(all, /Bearer\s+[^<\s]/, 'a bearer credential appears in the logs');

    const uploads = logs.uploads();
    assert.deepEqual(uploads.map((u) => u.reqId).sort(), ['req-log-1', 'req-log-2', 'req-log-3'], 'exactly one upload line per upload');
    const line = uploads.find((u) => u.reqId === 'req-log-1')!.upload!;
    assert.equal(line['name'], 'ctx.tar.gz');
    assert.equal(line['mode'], 'put');
    assert.equal(line['contentType'], 'application/gzip');
    assert.equal(line['bytes'], archive.length);
    assert.equal(line['chunks'], 4);
    assert.equal(line['outcome'], 'ok');
    assert.equal(line['upstreamCode'], 'OK');
    assert.equal(line['contextId'], ok.body['contextId']);
    assert.equal(typeof line['durationMs'], 'number');
    assert.equal(typeof line['mbPerSecond'], 'number');
    assert.equal(uploads.find((u) => u.reqId === 'req-log-2')!.upload!['mode'], 'multipart');
    const failed = uploads.find((u) => u.reqId === 'req-log-3')!.upload!;
    assert.equal(failed['outcome'], 'upstream_error');
    assert.equal(failed['upstreamCode'], 'UNAUTHENTICATED');
    assert.equal(failed['status'], 401);
  });

  test('x-request-id is echoed and sent upstream, generated when missing; traceparent passes through', async (t) => {
    const logs = logCapture();
    const stack = await startStack(t, { logger: loggerOptions(configWith(), logs.stream) });
    const given = await put(stack, 'a.tar.gz', gzipLike(5000), { 'x-request-id': 'client-chosen-id', traceparent: TRACEPARENT });
    assert.equal(given.status, 200);
    assert.equal(given.headers['x-request-id'], 'client-chosen-id');
    assert.equal(given.headers['traceparent'], TRACEPARENT);
    const seenGiven = stack.observed.find((o) => o.contextId === given.body['contextId'])!;
    assert.equal(seenGiven.requestMetadata['x-request-id'], 'client-chosen-id');
    assert.equal(seenGiven.requestMetadata['traceparent'], TRACEPARENT);

    const generated = await put(stack, 'b.tar.gz', gzipLike(5000));
    assert.equal(generated.status, 200);
    const id = String(generated.headers['x-request-id']);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const seenGenerated = stack.observed.find((o) => o.contextId === generated.body['contextId'])!;
    assert.equal(seenGenerated.requestMetadata['x-request-id'], id);
    assert.equal(seenGenerated.requestMetadata['traceparent'], undefined);
    assert.equal(logs.uploads().find((u) => u.upload!['contextId'] === generated.body['contextId'])?.reqId, id);

    // Errors carry it too.
    const error = await request(`${stack.baseUrl}/nowhere`, { headers: { 'x-request-id': 'err-id' } });
    await error.body.text();
    assert.equal(error.headers['x-request-id'], 'err-id');
  });

  test('TRUST_PROXY decides whether logs show the X-Forwarded-For client', async (t) => {
    for (const trustProxy of [true, false]) {
      const logs = logCapture();
      const stack = await startStack(t, { config: { trustProxy }, logger: loggerOptions(configWith(), logs.stream) });
      const res = await request(`${stack.baseUrl}/openapi.yaml`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'xff' } });
      await res.body.text();
      const incoming = logs.records().find((r) => r['reqId'] === 'xff' && r['req']) as { req: { remoteAddress: string } } | undefined;
      assert.ok(incoming, 'the incoming request is logged');
      assert.equal(incoming.req.remoteAddress, trustProxy ? '203.0.113.7' : '127.0.0.1');
    }
  });

  test('probes and scrapes do not log a line per request; uploads do', async (t) => {
    const logs = logCapture();
    const stack = await startStack(t, { logger: loggerOptions(configWith(), logs.stream) });
    const before = logs.lines.length;
    for (const path of ['/healthz', '/readyz', '/metrics']) await (await request(`${stack.baseUrl}${path}`)).body.text();
    assert.deepEqual(logs.lines.slice(before), []);
    await put(stack, 'a.tar.gz', gzipLike(100));
    // One line per request: an upload's is its upload line, which names the request. It is written once the
    // answer went out, after the point where a request line would have been written.
    await eventually(() => logs.lines.length > before, 'the upload line');
    const lines = logs.lines.slice(before).map((line) => JSON.parse(line) as unknown);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal((lines[0] as { msg: string }).msg, 'upload ok');
    assert.equal((lines[0] as { req: { method: string } }).req.method, 'PUT');

    // A refused upload: its upload line only. A refused request that is no upload: its refusal's line only.
    const refusedAt = logs.lines.length;
    assert.equal((await put(stack, 'text.txt', Buffer.from('not an archive'))).status, 415);
    await eventually(() => logs.lines.length > refusedAt, 'the refused upload\'s line');
    const notFound = await request(`${stack.baseUrl}/nowhere`, { headers: { 'x-request-id': 'one-line-404' } });
    await notFound.body.text();
    await eventually(() => logs.records().some((r) => r['reqId'] === 'one-line-404'), 'the 404\'s line');
    const refusals = logs.lines.slice(refusedAt).map((line) => JSON.parse(line) as { msg: string; code?: string; upload?: { code: string }; reqId: string });
    assert.equal(refusals.length, 2, JSON.stringify(refusals));
    assert.equal(refusals[0]!.upload?.code, 'NOT_AN_ARCHIVE');
    assert.equal(refusals[1]!.code, 'NOT_FOUND');
  });
});

describe('metrics', () => {
  test('uploads by route, mode and outcome, bytes, in flight, histograms, upstream codes and process metrics', async (t) => {
    const stack = await startStack(t, { reference: { token: TOKEN }, config: { uploadIdleTimeoutMs: 1500 } });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const sizes = [1000, 2 * CHUNK + 5];
    for (const size of sizes) assert.equal((await put(stack, `ok-${size}.tar.gz`, gzipLike(size), auth)).status, 200);
    const raw = await request(`${stack.baseUrl}/v1/ignite/contexts?name=raw.tar.gz`, { method: 'POST', body: gzipLike(700), headers: auth });
    assert.equal(raw.statusCode, 200, await raw.body.text());
    const notAnArchive = Buffer.from('hello, not an archive');
    assert.equal((await put(stack, 'text.txt', notAnArchive, auth)).status, 415);
    assert.equal((await put(stack, 'noauth.tar.gz', gzipLike(CHUNK))).status, 401);

    // A client that sends part of the body and goes quiet: in flight while it stalls, then a timeout.
    const stalled = connect(Number(new URL(stack.baseUrl).port), '127.0.0.1');
    const partial = gzipLike(CHUNK + 10);
    stalled.write(`PUT /v1/ignite/contexts/stall.tar.gz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${4 * CHUNK}\r\n\r\n`);
    stalled.write(partial);
    stalled.on('data', () => {});
    let during = await metricsText(stack);
    for (let i = 0; i < 50 && sample(during, 'ignite_bridge_uploads_in_flight') !== 1; i++) {
      await sleep(20);
      during = await metricsText(stack);
    }
    assert.equal(sample(during, 'ignite_bridge_uploads_in_flight'), 1);
    const stallSeen = await stack.nextObservation();
    assert.notEqual(stallSeen.outcome, 'stored');

    // A client that disconnects mid-body.
    const gone = connect(Number(new URL(stack.baseUrl).port), '127.0.0.1');
    gone.write(`PUT /v1/ignite/contexts/gone.tar.gz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${4 * CHUNK}\r\n\r\n`);
    gone.write(gzipLike(CHUNK + 20));
    const goneSeen = stack.nextObservation();
    await sleep(100);
    gone.destroy();
    assert.notEqual((await goneSeen).outcome, 'stored');
    stalled.destroy();

    const text = await metricsText(stack);
    const uploads = (labels: Record<string, string>) => sample(text, 'ignite_bridge_uploads_total', labels);
    const putRoute = '/v1/ignite/contexts/:name';
    assert.equal(uploads({ route: putRoute, mode: 'put', outcome: 'ok' }), 2);
    assert.equal(uploads({ route: '/v1/ignite/contexts', mode: 'raw', outcome: 'ok' }), 1);
    assert.equal(uploads({ route: putRoute, mode: 'put', outcome: 'rejected' }), 1);
    assert.equal(uploads({ route: putRoute, mode: 'put', outcome: 'upstream_error' }), 1);
    assert.equal(uploads({ route: putRoute, mode: 'put', outcome: 'timeout' }), 1);
    assert.equal(uploads({ route: putRoute, mode: 'put', outcome: 'client_aborted' }), 1);
    assert.equal(sample(text, 'ignite_bridge_uploads_in_flight'), 0);
    const okBytes = sizes.reduce((a, b) => a + b, 0);
    // The 415, the 401 and the abort count what arrived before they ended; the stalled upload all it sent.
    const putBytes = sample(text, 'ignite_bridge_received_bytes_total', { mode: 'put' })!;
    assert.ok(putBytes >= okBytes + partial.length, `received bytes ${putBytes}`);
    assert.ok(putBytes <= okBytes + notAnArchive.length + CHUNK + partial.length + CHUNK + 20, `received bytes ${putBytes}`);
    assert.equal(sample(text, 'ignite_bridge_received_bytes_total', { mode: 'raw' }), 700);
    assert.equal(sample(text, 'ignite_bridge_upload_duration_seconds_count', { mode: 'put', outcome: 'ok' }), 2);
    assert.equal(sample(text, 'ignite_bridge_upload_size_bytes_bucket', { mode: 'put', le: '65536' }), 1);
    assert.equal(sample(text, 'ignite_bridge_upload_size_bytes_bucket', { mode: 'put', le: '4194304' }), 2);
    assert.equal(sample(text, 'ignite_bridge_upload_size_bytes_count', { mode: 'put' }), 2, 'sizes of stored archives only');
    assert.equal(sample(text, 'ignite_bridge_upload_size_bytes_count', { mode: 'raw' }), 1);
    assert.equal(sample(text, 'ignite_bridge_upstream_responses_total', { code: 'OK' }), 3);
    assert.equal(sample(text, 'ignite_bridge_upstream_responses_total', { code: 'UNAUTHENTICATED' }), 1);
    assert.equal(sample(text, 'ignite_bridge_upstream_channel_state', { state: 'READY' }), 1);
    assert.equal(sample(text, 'ignite_bridge_upstream_channel_state', { state: 'TRANSIENT_FAILURE' }), 0);
    assert.equal(sample(text, 'ignite_bridge_http_responses_total', { method: 'PUT', route: putRoute, status: '415' }), 1);
    assert.ok(sample(text, 'process_cpu_user_seconds_total')! > 0);
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes')! > 0);
  });
});
