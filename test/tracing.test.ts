import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { BuildRecord } from '../src/reference-upstream/build-api.js';
import type { UploadObservation } from '../src/reference-upstream/server.js';
import { spawnBridge, startReplicas, type Replicas } from './bridge-process.js';
import { gzipLike, multipartForm, unusedPort } from './helpers.js';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { eventually } from './raw-http.js';
import { redisSkip } from './redis-server.js';
import { createUpload, patchUpload } from './tus-client.js';

const CENSUS = fileURLToPath(new URL('./fixtures/module-census.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;
const GRPC_SPAN = 'dodil.ignite.v1.BuildService/UploadBuildContext';

const traceparentOf = (span: ReceivedSpan): string => `00-${span.traceId}-${span.spanId}-01`;
const clientTraceparent = (): { traceparent: string; traceId: string; spanId: string } => {
  const traceId = randomUUID().replace(/-/g, '');
  const spanId = randomUUID().replace(/-/g, '').slice(0, 16);
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
};

/** The request's server span(s), by the x-request-id the test sent (a forwarded request has one per replica). */
const serverSpans = (spans: ReceivedSpan[], requestId: string): ReceivedSpan[] =>
  spans.filter((s) => s.kind === SERVER && s.attributes['ignite.request_id'] === requestId);
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan, name?: string): ReceivedSpan[] =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId && (name === undefined || s.name === name));

/** server → upload → UploadBuildContext, one trace: answers the three once all are exported. */
function uploadTree(spans: ReceivedSpan[], requestId: string) {
  const server = serverSpans(spans, requestId)[0];
  if (!server) return undefined;
  const upload = childrenOf(spans, server, 'upload')[0];
  const call = upload && childrenOf(spans, upload, GRPC_SPAN)[0];
  return upload && call ? { server, upload, call } : undefined;
}

function loadedModules(env: Record<string, string>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'module-census-'));
    const scope: Array<() => unknown> = [];
    spawnBridge({ after: (fn) => scope.push(fn) }, { IGNITE_DATA_DIR: dataDir, UPLOAD_PAGE: 'false', ...env }, CENSUS).then(async (bridge) => {
      let line: string | undefined;
      await eventually(() => (line = bridge.logs.find((l) => l.startsWith('{"loadedModules"'))) !== undefined, 'the census line');
      for (const fn of scope) await fn();
      rmSync(dataDir, { recursive: true, force: true });
      resolve((JSON.parse(line!) as { loadedModules: string[] }).loadedModules);
    }, reject);
  });
}

const otelModules = (modules: string[]): string[] => modules.filter((m) => /[\\/]node_modules[\\/](@opentelemetry|@fastify[\\/]otel)[\\/]/.test(m));
/**
 * prom-client's default process metrics require @opentelemetry/api (for exemplars, which are off), as they did
 * before tracing existed: the API alone, never the SDK, an exporter or @fastify/otel.
 */
const promClientsApi = (m: string): boolean => /[\\/]node_modules[\\/]@opentelemetry[\\/]api[\\/]/.test(m);
const loadedByTracing = (modules: string[]): string[] => {
  if (modules.some((m) => m.endsWith('prom-client/lib/metrics/processCpuTotal.js'))) return otelModules(modules).filter((m) => !promClientsApi(m));
  return otelModules(modules);
};

describe('tracing switch', () => {
  test('a start without the OTEL_* switch loads no @opentelemetry or @fastify/otel module; with it, they are loaded (the check can fail)', async () => {
    const off = await loadedModules({ OTEL_SERVICE_NAME: 'set-cluster-wide', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod' });
    assert.ok(off.some((m) => /[\\/]node_modules[\\/]fastify[\\/]fastify\.js$/.test(m)), 'the census sees npm modules (fastify)');
    assert.deepEqual(loadedByTracing(off), []);
    const disabled = await loadedModules({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' });
    assert.deepEqual(loadedByTracing(disabled), []);
    const on = await loadedModules({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    assert.ok(loadedByTracing(on).some((m) => m.includes('sdk-trace-node')), 'tracing on loads the SDK');
    assert.ok(loadedByTracing(on).some((m) => m.includes('@fastify/otel')), 'and @fastify/otel');
    assert.ok(otelModules(on).some((m) => m.includes('exporter-trace-otlp-proto')), 'the default protocol is http/protobuf');
    assert.ok(!otelModules(on).some((m) => m.includes('exporter-trace-otlp-http')), 'only the exporter the protocol names');
  });

  test('OTEL_EXPORTER_OTLP_PROTOCOL=grpc is refused at start-up with one line', () => {
    const run = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      encoding: 'utf8', timeout: 20_000,
    });
    assert.equal(run.status, 2, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^ignite-upload-bridge: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: .*http\/protobuf/);
  });

  test('http/protobuf (the default) reaches an OTLP/HTTP receiver', async (t) => {
    const receiver = await OtlpReceiver.start();
    t.after(() => receiver.close());
    const bridge = await spawnBridge(t, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'bridge-under-test', UPLOAD_PAGE: 'false' });
    const res = await request(`${bridge.url}/v1/ignite/contexts/ctx.tar.gz`, { method: 'PUT', body: gzipLike(50_000) });
    assert.equal(res.statusCode, 200, await res.body.text());
    await eventually(() => Buffer.concat(receiver.protobufBodies).includes(GRPC_SPAN), 'a protobuf export with the gRPC span', 10_000);
    assert.ok(Buffer.concat(receiver.protobufBodies).includes('bridge-under-test'), 'OTEL_SERVICE_NAME names the resource');
  });
});

describe('traces on two replicas (OTLP/HTTP JSON to a real receiver)', { skip: redisSkip }, () => {
  let receiver: OtlpReceiver;
  let replicas: Replicas;
  const uploads: UploadObservation[] = [];
  const builds: Array<{ record: BuildRecord; headers: Record<string, string[]> }> = [];

  before(async () => {
    receiver = await OtlpReceiver.start();
    const apiPort = await unusedPort();
    replicas = await startReplicas({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50',
      IGNITE_API_URL: `http://127.0.0.1:${apiPort}`, UPLOAD_PAGE: 'false',
    }, { buildApi: { port: apiPort } });
    replicas.reference.events.on('upload', (o: UploadObservation) => uploads.push(o));
    replicas.reference.events.on('build', (record: BuildRecord, headers: Record<string, string[]>) => builds.push({ record, headers }));
    await Promise.all([replicas.a, replicas.b].map((replica) => eventually(async () => {
      const res = await request(`${replica.url}/readyz`);
      return ((await res.body.json()) as { redis?: string }).redis === 'ready';
    }, 'connected to Redis', 10_000)));
  });
  after(async () => {
    await replicas.close();
    await receiver.close();
  });

  const stored = (contextId: string) => uploads.find((o) => o.contextId === contextId && o.outcome === 'stored');

  test('a raw upload: server → upload → UploadBuildContext in the client\'s trace; the upstream gets one traceparent, the call span\'s', async () => {
    const client = clientTraceparent();
    const requestId = `raw-${randomUUID()}`;
    const res = await request(`${replicas.a.url}/v1/ignite/contexts/ctx.tar.gz`, {
      method: 'PUT', body: gzipLike(300_000), headers: { traceparent: client.traceparent, 'x-request-id': requestId },
    });
    const answer = await res.body.json() as { contextId: string };
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['traceparent'], client.traceparent, 'the response echoes the client\'s traceparent');
    const { server, upload, call } = await receiver.waitFor((spans) => uploadTree(spans, requestId), 'the raw upload\'s spans');
    assert.equal(server.traceId, client.traceId);
    assert.equal(server.parentSpanId, client.spanId);
    assert.equal(server.name, 'PUT /v1/ignite/contexts/:name');
    assert.equal(server.attributes['http.route'], '/v1/ignite/contexts/:name');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['http.request.body.size'], 300_000);
    assert.equal(server.resource['service.name'], 'ignite-upload-bridge');
    assert.equal(upload.kind, INTERNAL);
    assert.deepEqual(
      [upload.attributes['ignite.upload.archive_type'], upload.attributes['ignite.upload.bytes'], upload.attributes['ignite.upload.outcome'], upload.attributes['ignite.upload.mode'], upload.attributes['ignite.context_id']],
      ['application/gzip', 300_000, 'ok', 'put', answer.contextId]);
    assert.ok(Number(upload.attributes['ignite.upload.chunks']) >= 1);
    assert.equal(upload.attributes['ignite.idempotency_key'], false);
    assert.equal(call.kind, CLIENT);
    assert.deepEqual([call.attributes['rpc.system'], call.attributes['rpc.service'], call.attributes['rpc.method'], call.attributes['rpc.grpc.status_code']],
      ['grpc', 'dodil.ignite.v1.BuildService', 'UploadBuildContext', 0]);
    const observed = stored(answer.contextId)!;
    assert.deepEqual(observed.traceparents, [traceparentOf(call)], 'exactly one traceparent upstream, the call span\'s');
  });

  test('a multipart upload without a traceparent starts a trace of its own; its log lines carry trace_id and span_id', async () => {
    const requestId = `multipart-${randomUUID()}`;
    const form = multipartForm([{ name: 'file', filename: 'ctx.tar.gz', data: gzipLike(120_000) }]);
    const res = await request(`${replicas.b.url}/v1/ignite/contexts`, { method: 'POST', body: form.body, headers: { ...form.headers, 'x-request-id': requestId } });
    const answer = await res.body.json() as { contextId: string };
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['traceparent'], undefined, 'no traceparent is echoed that the client did not send');
    const { server, upload, call } = await receiver.waitFor((spans) => uploadTree(spans, requestId), 'the multipart upload\'s spans');
    assert.equal(server.parentSpanId, '', 'a root span');
    assert.equal(server.attributes['http.route'], '/v1/ignite/contexts');
    assert.equal(upload.attributes['ignite.upload.mode'], 'multipart');
    assert.equal(upload.attributes['ignite.upload.bytes'], 120_000);
    assert.equal(call.traceId, server.traceId);
    assert.deepEqual(stored(answer.contextId)!.traceparents, [traceparentOf(call)]);
    const line = replicas.b.logs.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } })
      .find((entry) => entry['reqId'] === requestId && entry['msg'] === 'upload ok');
    assert.equal(line?.['trace_id'], server.traceId);
    assert.equal(line?.['span_id'], server.spanId);
  });

  test('a failed upload (415): the server and upload spans say why, with the ErrorInfo reason; no call was made', async () => {
    const requestId = `refused-${randomUUID()}`;
    const res = await request(`${replicas.a.url}/v1/ignite/contexts/ctx.tar.gz`, { method: 'PUT', body: Buffer.alloc(4096, 'x'), headers: { 'x-request-id': requestId } });
    assert.equal(res.statusCode, 415, await res.body.text());
    const { server, upload } = await receiver.waitFor((spans) => {
      const server = serverSpans(spans, requestId)[0];
      const upload = server && childrenOf(spans, server, 'upload')[0];
      return upload ? { server, upload } : undefined;
    }, 'the refused upload\'s spans');
    assert.equal(server.attributes['http.response.status_code'], 415);
    assert.equal(upload.status.code, 2, 'ERROR');
    assert.match(upload.status.message ?? '', /^NOT_AN_ARCHIVE: /);
    assert.equal(upload.attributes['error.type'], 'NOT_AN_ARCHIVE');
    assert.equal(upload.attributes['ignite.upload.outcome'], 'rejected');
    assert.deepEqual(childrenOf(receiver.spans, upload), [], 'no UploadBuildContext span: nothing was sent upstream');
  });

  test('an upload with a build: the CreateBuild span is the request\'s child, and its traceparent is the only one the API gets', async () => {
    const client = clientTraceparent();
    const requestId = `build-${randomUUID()}`;
    const res = await request(`${replicas.a.url}/v1/ignite/contexts/ctx.tar.gz?build=my-app`, {
      method: 'PUT', body: gzipLike(80_000), headers: { traceparent: client.traceparent, 'x-request-id': requestId },
    });
    const answer = await res.body.json() as { contextId: string; build: { id: string } };
    assert.equal(res.statusCode, 200, JSON.stringify(answer));
    const { server, call, build } = await receiver.waitFor((spans) => {
      const tree = uploadTree(spans, requestId);
      const build = tree && childrenOf(spans, tree.server, 'CreateBuild')[0];
      return build ? { ...tree, build } : undefined;
    }, 'the upload\'s and the build\'s spans');
    assert.equal(server.traceId, client.traceId);
    assert.equal(build.kind, CLIENT);
    assert.equal(build.attributes['http.response.status_code'], 200);
    assert.equal(build.attributes['ignite.build.outcome'], 'started');
    assert.equal(build.attributes['ignite.build_id'], answer.build.id);
    const sent = builds.find((b) => b.record.id === answer.build.id)!;
    assert.deepEqual(sent.headers['traceparent'], [traceparentOf(build)], 'exactly one traceparent to the API, the CreateBuild span\'s');
    assert.deepEqual(stored(answer.contextId)!.traceparents, [traceparentOf(call)]);
  });

  test('a tus upload over three PATCHes on two replicas: the upload\'s span continues its creation\'s trace, each PATCH links to the creation', async () => {
    const archive = gzipLike(600_000);
    const cuts = [0, 200_000, 400_000, 600_000];
    const createId = `tus-create-${randomUUID()}`;
    const url = await createUpload(replicas.a.url, { 'upload-length': String(archive.length), 'x-request-id': createId });
    const patchIds = [0, 1, 2].map((i) => `tus-patch-${i}-${randomUUID()}`);
    const client = clientTraceparent();
    // The first PATCH claims the upload on A; the next two go to B, which forwards them to A; the last carries its own traceparent.
    const replicaOf = [url, url.replace(replicas.a.url, replicas.b.url), url.replace(replicas.a.url, replicas.b.url)];
    let last;
    for (const i of [0, 1, 2]) {
      last = await patchUpload(replicaOf[i]!, cuts[i]!, archive.subarray(cuts[i], cuts[i + 1]), {
        'x-request-id': patchIds[i]!, ...(i === 2 ? { traceparent: client.traceparent } : {}),
      });
      assert.equal(last.status, i === 2 ? 200 : 204, last.body);
    }
    assert.equal(last!.headers['traceparent'], client.traceparent, 'the forwarding replica echoes the client\'s traceparent, not its hop\'s');
    const contextId = (JSON.parse(last!.body) as { contextId: string }).contextId;
    const found = await receiver.waitFor((spans) => {
      const creation = serverSpans(spans, createId)[0];
      const upload = creation && childrenOf(spans, creation, 'upload')[0];
      const call = upload && childrenOf(spans, upload, GRPC_SPAN)[0];
      const patches = patchIds.map((id) => serverSpans(spans, id));
      return call && patches[0]!.length === 1 && patches[1]!.length === 2 && patches[2]!.length === 2 ? { creation, upload, call, patches } : undefined;
    }, 'the creation\'s, the upload\'s and every PATCH\'s spans');
    const { creation, upload, call, patches } = found;
    assert.equal(creation.attributes['http.route'], '/v1/ignite/uploads');
    assert.equal(upload.attributes['ignite.upload.mode'], 'resumable');
    assert.equal(upload.attributes['ignite.upload.bytes'], 600_000);
    assert.equal(upload.attributes['ignite.upload.outcome'], 'ok');
    for (const [i, spans] of patches.entries()) {
      // On the owner (A): the PATCH's span, linked to the creation; a forwarded one is the child of B's span for it.
      const owner = spans.find((s) => s.links.length > 0);
      assert.ok(owner, `PATCH ${i + 1} has a span linked to the creation`);
      assert.deepEqual(owner.links, [{ traceId: creation.traceId, spanId: creation.spanId }]);
      assert.equal(owner.attributes['ignite.resumable.offset'], cuts[i]);
      assert.equal(owner.attributes['ignite.resumable.upload_id'], url.split('/').pop());
      assert.notEqual(owner.traceId, creation.traceId, 'a PATCH is a trace of its own (or its client\'s)');
      if (i > 0) {
        const hop = spans.find((s) => s !== owner)!;
        assert.equal(owner.parentSpanId, hop.spanId, 'the owner\'s span is the forwarding replica\'s child');
        assert.equal(owner.traceId, hop.traceId);
      }
    }
    const final = patches[2]!.find((s) => s.parentSpanId === client.spanId);
    assert.ok(final, 'the PATCH with its own traceparent joins the client\'s trace');
    assert.equal(final.traceId, client.traceId);
    assert.deepEqual(stored(contextId)!.traceparents, [traceparentOf(call)], 'one traceparent upstream, the call span\'s (under the creation\'s trace)');
  });
});
