import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { grpcCodeName } from '../src/errors.js';
import { readDoc } from './docs.js';
import { catalogueCodes, catalogueEntries, catalogueReasonsByStatus, documentedReasons, documentedReasonsByStatus, openapiDocument } from './error-catalogue.js';
import { assertRefusal, gzipLike, startStack } from './helpers.js';
import { head, RawClient } from './raw-http.js';
import { createUpload, patchUpload, tusRequest, TUS, b64 } from './tus-client.js';

type Json = Record<string, unknown>;

describe('google.rpc.ErrorInfo on every error', () => {
  test('every catalogue code is a documented reason in openapi.yaml', async () => {
    const documented = new Set(await documentedReasons());
    const codes = await catalogueCodes();
    assert.ok(codes.length > 60, `${codes.length} codes found`);
    assert.deepEqual(codes.filter((code) => !documented.has(code)), [], 'codes missing from the ErrorInfo reasons in openapi.yaml');
    assert.deepEqual([...documented].filter((reason) => !codes.includes(reason)), [], 'ErrorInfo reasons in openapi.yaml that no family has');
  });

  test('openapi.yaml lists under each status exactly the reasons the catalogue gives it, and every error response uses its status\'s list', async () => {
    const statusName = (byStatus: Map<number, string[]>) => Object.fromEntries([...byStatus].map(([status, reasons]) => [status, [...reasons].sort()]));
    assert.deepEqual(statusName(await documentedReasonsByStatus()), statusName(catalogueReasonsByStatus()), 'the Status<NNN> schemas of openapi.yaml against the families\' tables');

    const document = await openapiDocument() as { paths: Record<string, Record<string, { responses?: Record<string, Json> }>>; components: { responses: Record<string, Json> } };
    const checked: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, ref] of Object.entries(operation.responses ?? {})) {
          if (Number(status) < 400) continue;
          const response = typeof ref['$ref'] === 'string' ? document.components.responses[ref['$ref'].split('/').pop()!]! : ref;
          for (const [type, media] of Object.entries((response['content'] ?? {}) as Record<string, { schema: Json }>)) {
            if (type !== 'application/json') continue;
            const refs = [media.schema, ...(media.schema['anyOf'] as Json[] | undefined) ?? []].map((schema) => String(schema['$ref']));
            // Not an error body (the readiness report of a 503).
            if (!refs.some((r) => r.startsWith('#/components/schemas/Status'))) continue;
            assert.ok(refs.includes(`#/components/schemas/Status${status}`), `${method.toUpperCase()} ${path} ${status}: its body schema is not Status${status} (${JSON.stringify(refs)})`);
            checked.push(`${method} ${path} ${status}`);
          }
        }
      }
    }
    assert.ok(checked.length > 50, `${checked.length} error responses checked`);
  });

  test('docs/errors.md gives each reason a status the catalogue gives it', async () => {
    const doc = await readDoc('docs/errors.md');
    const rows = doc.slice(doc.indexOf('## Every reason')).split('\n').filter((line) => line.startsWith('| `'));
    const entries = catalogueEntries();
    for (const row of rows) {
      const [, reasonCell, statusCell] = row.split('|');
      const reason = /`([A-Z0-9_]+)`/.exec(reasonCell!)![1]!;
      const status = statusCell!.trim();
      const mine = entries.filter((entry) => entry.reason === reason);
      if (status === 'mapped') {
        assert.ok(mine.length > 0 && mine.every((entry) => entry.family === 'UpstreamError' && reason === `UPSTREAM_${grpcCodeName[entry.grpc]}`), `${reason}: "mapped" is only for an upstream status relayed`);
      } else {
        assert.ok(mine.some((entry) => entry.statuses.includes(Number(status))), `${reason}: docs/errors.md says ${status}, the catalogue ${JSON.stringify(mine.map((entry) => entry.statuses))}`);
      }
    }
  });

  test('real answers over real sockets carry the reason and the facts to act on', async (t) => {
    const stack = await startStack(t, { config: { maxResumableUploads: 4 }, reference: { token: 'right' } });

    const notFound = await request(`${stack.baseUrl}/v1/ignite/nowhere`);
    assertRefusal({ status: notFound.statusCode, body: await notFound.body.text() }, 404, 5, /No route/, 'NOT_FOUND');

    // An upstream refusal: reasoned by the upstream's code.
    const upstream = await request(`${stack.baseUrl}/v1/ignite/contexts/ctx.tar.gz`, { method: 'PUT', body: gzipLike(1000), headers: { authorization: 'Bearer wrong' } });
    assertRefusal({ status: upstream.statusCode, body: await upstream.body.text() }, 401, 16, /UNAUTHENTICATED/, 'UPSTREAM_UNAUTHENTICATED');

    // The offset to go on from.
    const archive = gzipLike(2000);
    const auth = { authorization: 'Bearer right' };
    const url = await createUpload(stack.baseUrl, { 'upload-length': String(archive.length), ...auth });
    assert.equal((await patchUpload(url, 0, archive.subarray(0, 1000), auth)).status, 204);
    const mismatch = await patchUpload(url, 5, archive.subarray(5), auth);
    const offsetInfo = assertRefusal(mismatch, 409, 9, /holds 1000 bytes/, 'UPLOAD_OFFSET_MISMATCH');
    assert.deepEqual(offsetInfo.metadata, { uploadOffset: '1000' });

    // When to come back, wherever Retry-After is sent (per-credential cap: a quarter of 4).
    const full = await tusRequest(`${stack.baseUrl}/v1/ignite/uploads`, 'POST', { ...TUS, ...auth, 'upload-length': '10', 'upload-metadata': `filename ${b64('b.tar.gz')}` });
    const retryInfo = assertRefusal(full, 503, 14, /resumable uploads/, 'RESUMABLE_UPLOADS_FULL');
    assert.equal(full.headers['retry-after'], '5');
    assert.deepEqual(retryInfo.metadata, { retryAfterSeconds: '5' });

    // An answer written on the bare socket by the parser's error handler.
    const client = await RawClient.connect(stack.baseUrl);
    await client.write(head('PUT', '/v1/ignite/contexts/ctx.tar.gz', { 'content-length': 10, 'x-padding': 'p'.repeat(20_000) }));
    assertRefusal(await client.response(), 431, 3, /headers are too large/, 'HEADERS_TOO_LARGE');
    client.destroy();
  });
});
