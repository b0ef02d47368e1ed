import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { validate as lintOpenapi } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { parse } from 'yaml';
import { OPENAPI_PATH } from '../src/routes/openapi.js';
import { gzipLike, startStack, type Stack, unusedPort, multipartForm } from './helpers.js';

type Json = Record<string, unknown>;
const document = parse(await readFile(OPENAPI_PATH, 'utf8')) as Json;
const DOC_ID = 'https://ignite-upload-bridge.invalid/openapi.json';

const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { uri: true } });
// The document's own top-level keys are not schema keywords: declare them so strict mode accepts the root.
ajv.addVocabulary(Object.keys(document).filter((key) => !['$schema', '$id'].includes(key)));
ajv.addSchema(document, DOC_ID);

const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

/** Follows a local $ref, returning the target and its JSON pointer. */
function deref(node: Json, pointer: string): { node: Json; pointer: string } {
  const ref = node['$ref'];
  if (typeof ref !== 'string') return { node, pointer };
  const target = ref.slice(2).split('/').reduce<unknown>((n, part) => (n as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')], document) as Json;
  return deref(target, ref.slice(1));
}

function validator(pointer: string) {
  return ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
}

function check(pointer: string, value: unknown, what: string): void {
  const validate = validator(pointer);
  assert.ok(validate(value), `${what}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(value)}`);
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Checks a real response against the operation's documented response: status, headers, media type, body schema. */
function conforms(method: string, path: string | undefined, res: Response): void {
  let responses: Json;
  let pointer: string;
  if (path) {
    const operation = ((document['paths'] as Json)[path] as Json | undefined)?.[method] as Json | undefined;
    assert.ok(operation, `${method.toUpperCase()} ${path} is not documented`);
    responses = operation['responses'] as Json;
    pointer = `/paths/${escapePointer(path)}/${method}/responses`;
  } else {
    // Unmatched routes: the shared NotFound response.
    responses = { '404': { $ref: '#/components/responses/NotFound' } };
    pointer = '';
  }
  const documented = responses[String(res.status)] as Json | undefined;
  assert.ok(documented, `${method.toUpperCase()} ${path}: status ${res.status} is not documented (${res.text})`);
  const response = deref(documented, `${pointer}/${res.status}`);
  for (const [name, header] of Object.entries((response.node['headers'] ?? {}) as Json)) {
    const spec = deref(header as Json, '').node;
    const value = res.headers[name.toLowerCase()];
    if (spec['required']) assert.ok(value !== undefined, `${method.toUpperCase()} ${path} ${res.status}: missing header ${name}`);
    const schema = spec['schema'] as Json | undefined;
    if (value !== undefined && typeof schema?.['pattern'] === 'string') assert.match(String(value), new RegExp(schema['pattern']), `header ${name}`);
  }
  const content = response.node['content'] as Json;
  const mediaType = String(res.headers['content-type']).split(';')[0]!.trim();
  assert.ok(content[mediaType], `${method.toUpperCase()} ${path} ${res.status}: ${mediaType} is not documented`);
  if (mediaType === 'application/json') {
    check(`${response.pointer}/content/${escapePointer(mediaType)}/schema`, JSON.parse(res.text), `${method.toUpperCase()} ${path} ${res.status}`);
  }
}

async function call(stack: Stack, method: string, url: string, options: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await request(`${stack.baseUrl}${url}`, { method: method.toUpperCase() as 'GET', ...options });
  return { status: res.statusCode, headers: res.headers as Response['headers'], text: await res.body.text() };
}


describe('openapi.yaml', () => {
  test('is a valid OpenAPI 3.1 document (lint)', async () => {
    const result = await lintOpenapi(OPENAPI_PATH);
    assert.equal(result.valid, true, JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    assert.equal(document['openapi'], '3.1.0');
  });

  test('documents every route and header of the contract', () => {
    const paths = document['paths'] as Record<string, Json>;
    const expected: Array<[string, string]> = [
      ['/v1/ignite/contexts', 'post'], ['/v1/ignite/contexts/{name}', 'put'], ['/v1/ignite/contexts:import', 'post'],
      ['/v1/ignite/imports/{importId}', 'get'], ['/healthz', 'get'], ['/readyz', 'get'], ['/metrics', 'get'],
      ['/openapi.yaml', 'get'], ['/', 'get'],
    ];
    for (const [path, method] of expected) assert.ok(paths[path]?.[method], `${method} ${path}`);
    const parameters = Object.values((document['components'] as Json)['parameters'] as Record<string, Json>).map((p) => String(p['name']).toLowerCase());
    for (const header of ['content-digest', 'repr-digest', 'want-repr-digest', 'want-content-digest', 'expect', 'idempotency-key', 'x-signature-256', 'x-signature-timestamp', 'x-request-id', 'traceparent']) {
      assert.ok(parameters.includes(header), `request header ${header}`);
    }
    const post = paths['/v1/ignite/contexts']!['post'] as Json;
    const content = (post['requestBody'] as Json)['content'] as Json;
    for (const type of ['multipart/form-data', 'application/gzip', 'application/zip', 'application/octet-stream', '*/*']) assert.ok(content[type], type);
    const form = deref((content['multipart/form-data'] as Json)['schema'] as Json, '').node;
    assert.deepEqual(Object.keys(form['properties'] as Json), ['name', 'expectedSizeBytes', 'sha256', 'file'], 'multipart fields in order');
    const uploaded = deref((post['responses'] as Json)['200'] as Json, '').node;
    assert.deepEqual(Object.keys(uploaded['headers'] as Json).sort(), ['Idempotent-Replayed', 'Repr-Digest', 'traceparent', 'x-request-id']);
    const unavailable = deref((post['responses'] as Json)['503'] as Json, '').node;
    assert.ok((unavailable['headers'] as Json)['Retry-After']);
    for (const status of ['400', '401', '403', '404', '408', '409', '413', '415', '422', '502', '503', '504']) {
      const response = (post['responses'] as Json)[status] ?? (((paths['/v1/ignite/contexts:import']!['post'] as Json)['responses']) as Json)[status];
      assert.ok(response, `refusal ${status} is documented`);
    }
  });

  test('documents every route the app serves', async (t) => {
    const stack = await startStack(t);
    // printRoutes draws a tree: 4 characters of indentation per level, methods in parentheses.
    const segments: string[] = [];
    const served: string[] = [];
    for (const line of stack.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
      if (!match) continue;
      const depth = match[1]!.length / 4;
      segments[depth] = match[2]!;
      const path = segments.slice(0, depth + 1).join('').replace(/\/:(\w+)/g, '/{$1}');
      for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD' && m !== 'OPTIONS')) served.push(`${method} ${path}`);
    }
    assert.ok(served.includes('PUT /v1/ignite/contexts/{name}'), served.join());
    const paths = document['paths'] as Record<string, Json>;
    const undocumented = served.filter((route) => {
      const [method, path] = route.split(' ') as [string, string];
      return !paths[path]?.[method.toLowerCase()];
    });
    assert.deepEqual(undocumented, [], 'routes missing from openapi.yaml');
  });

  test('every example validates against its schema', () => {
    let examples = 0;
    const walk = (node: unknown, pointer: string) => {
      if (!node || typeof node !== 'object') return;
      const media = node as Json;
      if (media['schema'] && (media['example'] !== undefined || media['examples'] !== undefined) && !('in' in media)) {
        const values = media['example'] !== undefined
          ? [media['example']]
          : Object.values(media['examples'] as Record<string, Json>).map((e) => e['value']);
        const schema = deref(media['schema'] as Json, `${pointer}/schema`);
        for (const value of values) {
          // Plain-text examples (metrics, YAML) are strings; every JSON example must match its schema.
          check(schema.pointer, value, pointer);
          examples++;
        }
      }
      for (const [key, child] of Object.entries(node)) walk(child, `${pointer}/${escapePointer(key)}`);
    };
    walk(document, '');
    assert.ok(examples >= 30, `${examples} examples checked`);
  });
});

describe('the real server answers as openapi.yaml says', () => {
  test('uploads: 200 (PUT, multipart), 400, 404, 413, 415, 503 draining', async (t) => {
    const stack = await startStack(t, { config: { maxContextBytes: 100_000 } });
    const put = await call(stack, 'put', '/v1/ignite/contexts/ctx.tar.gz', { body: gzipLike(5000), headers: { 'x-request-id': 'contract-1' } });
    assert.equal(put.status, 200, put.text);
    conforms('put', '/v1/ignite/contexts/{name}', put);
    for (const want of ['sha-256=1', 'sha-512=1']) {
      const digested = await call(stack, 'put', '/v1/ignite/contexts/ctx.tar.gz', { body: gzipLike(5000), headers: { 'want-repr-digest': want } });
      assert.ok(digested.headers['repr-digest'], want);
      conforms('put', '/v1/ignite/contexts/{name}', digested);
    }

    const form = multipartForm([{ name: 'name', value: 'form.tar.gz' }, { name: 'file', filename: 'x.tar.gz', data: gzipLike(3000) }]);
    const multipart = await call(stack, 'post', '/v1/ignite/contexts', form);
    assert.equal(multipart.status, 200, multipart.text);
    conforms('post', '/v1/ignite/contexts', multipart);

    const noName = await call(stack, 'post', '/v1/ignite/contexts', { body: gzipLike(100) });
    assert.equal(noName.status, 400);
    conforms('post', '/v1/ignite/contexts', noName);
    const noPathName = await call(stack, 'put', '/v1/ignite/contexts/', { body: gzipLike(100) });
    assert.equal(noPathName.status, 400);
    conforms('put', '/v1/ignite/contexts/', noPathName);

    const empty = await call(stack, 'put', '/v1/ignite/contexts/empty.tar.gz', { body: Buffer.alloc(0) });
    assert.equal(empty.status, 400);
    conforms('put', '/v1/ignite/contexts/{name}', empty);

    const missing = await call(stack, 'get', '/v1/ignite/nothing-here');
    assert.equal(missing.status, 404);
    conforms('get', undefined, missing);

    const tooLarge = await call(stack, 'put', '/v1/ignite/contexts/big.tar.gz', { body: gzipLike(100_001) });
    assert.equal(tooLarge.status, 413);
    conforms('put', '/v1/ignite/contexts/{name}', tooLarge);

    const notArchive = await call(stack, 'put', '/v1/ignite/contexts/page.html', { body: Buffer.from('<!DOCTYPE html><html></html>') });
    assert.equal(notArchive.status, 415);
    conforms('put', '/v1/ignite/contexts/{name}', notArchive);

    const encoded = await call(stack, 'put', '/v1/ignite/contexts/x.tar.gz', { body: gzipLike(100), headers: { 'content-encoding': 'gzip' } });
    assert.equal(encoded.status, 415);
    conforms('put', '/v1/ignite/contexts/{name}', encoded);

    stack.app.uploadGate.drain();
    const draining = await call(stack, 'put', '/v1/ignite/contexts/late.tar.gz', { body: gzipLike(100) });
    assert.equal(draining.status, 503);
    assert.equal(draining.headers['retry-after'], '5');
    conforms('put', '/v1/ignite/contexts/{name}', draining);
    const notReady = await call(stack, 'get', '/readyz');
    assert.equal(notReady.status, 503);
    conforms('get', '/readyz', notReady);
  });

  test('upstream refusals: 401 for a missing token, 503 for an unreachable upstream', async (t) => {
    const guarded = await startStack(t, { reference: { token: 'contract-token' } });
    const unauthenticated = await call(guarded, 'put', '/v1/ignite/contexts/a.tar.gz', { body: gzipLike(2000) });
    assert.equal(unauthenticated.status, 401);
    conforms('put', '/v1/ignite/contexts/{name}', unauthenticated);

    const unreachable = await startStack(t, { target: `127.0.0.1:${await unusedPort()}` });
    const down = await call(unreachable, 'post', '/v1/ignite/contexts?name=a.tar.gz', { body: gzipLike(2000) });
    assert.equal(down.status, 503);
    conforms('post', '/v1/ignite/contexts', down);
  });

  test('operations: /healthz, /readyz, /metrics, /openapi.yaml', async (t) => {
    const stack = await startStack(t);
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.yaml']) {
      const res = await call(stack, 'get', path);
      assert.equal(res.status, 200, path);
      conforms('get', path, res);
    }
    const served = await call(stack, 'get', '/openapi.yaml');
    assert.equal(served.text, await readFile(OPENAPI_PATH, 'utf8'));
  });
});
