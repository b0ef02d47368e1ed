import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { validate as lintOpenapi } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { parse } from 'yaml';
import { OPENAPI_PATH } from '../src/routes/openapi.js';
import { gzipLike, startStack, unusedPort, multipartForm } from './helpers.js';
const document = parse(await readFile(OPENAPI_PATH, 'utf8'));
const DOC_ID = 'https://ignite-upload-bridge.invalid/openapi.json';
const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { uri: true } });
// The document's own top-level keys are not schema keywords: declare them so strict mode accepts the root.
ajv.addVocabulary(Object.keys(document).filter((key) => !['$schema', '$id'].includes(key)));
ajv.addSchema(document, DOC_ID);
const escapePointer = (part) => part.replace(/~/g, '~0').replace(/\//g, '~1');
/** Follows a local $ref, returning the target and its JSON pointer. */
function deref(node, pointer) {
    const ref = node['$ref'];
    if (typeof ref !== 'string')
        return { node, pointer };
    const target = ref.slice(2).split('/').reduce((n, part) => n[part.replace(/~1/g, '/').replace(/~0/g, '~')], document);
    return deref(target, ref.slice(1));
}
function validator(pointer) {
    return ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
}
function check(pointer, value, what) {
    const validate = validator(pointer);
    assert.ok(validate(value), `${what}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(value)}`);
}
/** Checks a real response against the operation's documented response: status, headers, media type, body schema. */
function conforms(method, path, res) {
    let responses;
    let pointer;
    if (path) {
        const operation = document['paths'][path]?.[method];
        assert.ok(operation, `${method.toUpperCase()} ${path} is not documented`);
        responses = operation['responses'];
        pointer = `/paths/${escapePointer(path)}/${method}/responses`;
    }
    else {
        // Unmatched routes: the shared NotFound response.
        responses = { '404': { $ref: '#/components/responses/NotFound' } };
        pointer = '';
    }
    const documented = responses[String(res.status)];
    assert.ok(documented, `${method.toUpperCase()} ${path}: status ${res.status} is not documented (${res.text})`);
    const response = deref(documented, `${pointer}/${res.status}`);
    for (const [name, header] of Object.entries((response.node['headers'] ?? {}))) {
        const spec = deref(header, '').node;
        const value = res.headers[name.toLowerCase()];
        if (spec['required'])
            assert.ok(value !== undefined, `${method.toUpperCase()} ${path} ${res.status}: missing header ${name}`);
        const schema = spec['schema'];
        if (value !== undefined && typeof schema?.['pattern'] === 'string')
            assert.match(String(value), new RegExp(schema['pattern']), `header ${name}`);
    }
    const content = response.node['content'];
    if (!content) {
        // Documented without content (tus's 201 and 204, HEAD's 200): the real response has no body either.
        assert.equal(res.text, '', `${method.toUpperCase()} ${path} ${res.status}: documented without a body, but one came`);
        assert.equal(res.headers['content-type'], undefined, `${method.toUpperCase()} ${path} ${res.status}: documented without a body, but has a Content-Type`);
        return;
    }
    const mediaType = String(res.headers['content-type']).split(';')[0].trim();
    assert.ok(content[mediaType], `${method.toUpperCase()} ${path} ${res.status}: ${mediaType} is not documented`);
    if (method === 'head') {
        // HEAD: the headers of the documented response, never a body.
        assert.equal(res.text, '', `HEAD ${path} ${res.status}: a body came`);
    }
    else if (mediaType === 'application/json') {
        check(`${response.pointer}/content/${escapePointer(mediaType)}/schema`, JSON.parse(res.text), `${method.toUpperCase()} ${path} ${res.status}`);
    }
}
async function call(stack, method, url, options = {}) {
    const res = await request(`${stack.baseUrl}${url}`, { method: method.toUpperCase(), ...options });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}
describe('openapi.yaml', () => {
    test('is a valid OpenAPI 3.1 document (lint)', async () => {
        const result = await lintOpenapi(OPENAPI_PATH);
        assert.equal(result.valid, true, JSON.stringify(result));
        assert.deepEqual(result.warnings, []);
        assert.equal(document['openapi'], '3.1.0');
    });
    test('documents every route and header of the contract', () => {
        const paths = document['paths'];
        const expected = [
            ['/v1/ignite/contexts', 'post'], ['/v1/ignite/contexts/{name}', 'put'], ['/v1/ignite/contexts:import', 'post'],
            ['/v1/ignite/imports/{importId}', 'get'], ['/healthz', 'get'], ['/readyz', 'get'], ['/metrics', 'get'],
            ['/openapi.yaml', 'get'], ['/', 'get'],
            ['/v1/ignite/uploads', 'options'], ['/v1/ignite/uploads', 'post'], ['/v1/ignite/uploads/{id}', 'head'],
            ['/v1/ignite/uploads/{id}', 'patch'], ['/v1/ignite/uploads/{id}', 'delete'], ['/v1/ignite/uploads/{id}', 'post'],
        ];
        for (const [path, method] of expected)
            assert.ok(paths[path]?.[method], `${method} ${path}`);
        const parameters = Object.values(document['components']['parameters']).map((p) => String(p['name']).toLowerCase());
        for (const header of ['content-digest', 'repr-digest', 'want-repr-digest', 'want-content-digest', 'expect', 'idempotency-key', 'x-signature-256', 'x-signature-timestamp', 'x-request-id', 'traceparent',
            'tus-resumable', 'upload-length', 'upload-defer-length', 'upload-metadata', 'upload-offset', 'x-http-method-override']) {
            assert.ok(parameters.includes(header), `request header ${header}`);
        }
        const post = paths['/v1/ignite/contexts']['post'];
        const content = post['requestBody']['content'];
        for (const type of ['multipart/form-data', 'application/gzip', 'application/zip', 'application/octet-stream', '*/*'])
            assert.ok(content[type], type);
        const form = deref(content['multipart/form-data']['schema'], '').node;
        assert.deepEqual(Object.keys(form['properties']), ['name', 'expectedSizeBytes', 'sha256', 'build', 'tags', 'file'], 'multipart fields in order');
        const uploaded = deref(post['responses']['200'], '').node;
        assert.deepEqual(Object.keys(uploaded['headers']).sort(), ['Idempotent-Replayed', 'Ignite-Build-Id', 'Ignite-Context-Id', 'Ignite-Size-Bytes', 'Repr-Digest', 'traceparent', 'x-request-id']);
        const unavailable = deref(post['responses']['503'], '').node;
        assert.ok(unavailable['headers']['Retry-After']);
        for (const status of ['400', '401', '403', '404', '408', '409', '413', '415', '422', '424', '502', '503', '504']) {
            const response = post['responses'][status] ?? (paths['/v1/ignite/contexts:import']['post']['responses'])[status];
            assert.ok(response, `refusal ${status} is documented`);
        }
    });
    test('documents every route the app serves', async (t) => {
        const stack = await startStack(t);
        // printRoutes draws a tree: 4 characters of indentation per level, methods in parentheses.
        const segments = [];
        const served = [];
        for (const line of stack.app.printRoutes({ commonPrefix: false }).split('\n')) {
            const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
            if (!match)
                continue;
            const depth = match[1].length / 4;
            segments[depth] = match[2];
            const path = segments.slice(0, depth + 1).join('').replace(/\/:(\w+)/g, '/{$1}');
            for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD' && m !== 'OPTIONS'))
                served.push(`${method} ${path}`);
        }
        assert.ok(served.includes('PUT /v1/ignite/contexts/{name}'), served.join());
        const paths = document['paths'];
        const undocumented = served.filter((route) => {
            const [method, path] = route.split(' ');
            return !paths[path]?.[method.toLowerCase()];
        });
        assert.deepEqual(undocumented, [], 'routes missing from openapi.yaml');
    });
    test('every example validates against its schema', () => {
        let examples = 0;
        const walk = (node, pointer) => {
            if (!node || typeof node !== 'object')
                return;
            const media = node;
            if (media['schema'] && (media['example'] !== undefined || media['examples'] !== undefined) && !('in' in media)) {
                const values = media['example'] !== undefined
                    ? [media['example']]
                    : Object.values(media['examples']).map((e) => e['value']);
                const schema = deref(media['schema'], `${pointer}/schema`);
                for (const value of values) {
                    // Plain-text examples (metrics, YAML) are strings; every JSON example must match its schema.
                    check(schema.pointer, value, pointer);
                    examples++;
                }
            }
            for (const [key, child] of Object.entries(node))
                walk(child, `${pointer}/${escapePointer(key)}`);
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
    test('upload and build: 200 with build and Ignite-* headers (PUT, multipart), 424, 400 INVALID_BUILD', async (t) => {
        const faults = {};
        const stack = await startStack(t, { reference: { buildApi: { faults } } });
        const built = await call(stack, 'put', '/v1/ignite/contexts/ctx.tar.gz?build=app&tags=latest', { body: gzipLike(5000) });
        assert.equal(built.status, 200, built.text);
        assert.ok(built.headers['ignite-build-id']);
        conforms('put', '/v1/ignite/contexts/{name}', built);
        const form = multipartForm([{ name: 'build', value: 'app' }, { name: 'file', filename: 'x.tar.gz', data: gzipLike(3000) }]);
        const multipart = await call(stack, 'post', '/v1/ignite/contexts', form);
        assert.equal(multipart.status, 200, multipart.text);
        conforms('post', '/v1/ignite/contexts', multipart);
        faults.status = 401;
        const refused = await call(stack, 'put', '/v1/ignite/contexts/ctx.tar.gz?build=app', { body: gzipLike(5000) });
        assert.equal(refused.status, 424, refused.text);
        conforms('put', '/v1/ignite/contexts/{name}', refused);
        const invalid = await call(stack, 'post', '/v1/ignite/contexts?name=a.tar.gz&build=app&tags=-x', { body: gzipLike(100) });
        assert.equal(invalid.status, 400);
        conforms('post', '/v1/ignite/contexts', invalid);
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
describe('the resumable upload routes (tus) answer as openapi.yaml says', () => {
    const TUS = { 'tus-resumable': '1.0.0' };
    const OCTETS = { ...TUS, 'content-type': 'application/offset+octet-stream' };
    const NAMED = { ...TUS, 'upload-metadata': `filename ${Buffer.from('ctx.tar.gz').toString('base64')}` };
    const UPLOAD = '/v1/ignite/uploads/{id}';
    /** Creates an upload of `length` bytes; answers its path. */
    async function create(stack, length, headers = {}) {
        const created = await call(stack, 'post', '/v1/ignite/uploads', { headers: { ...NAMED, 'upload-length': String(length), ...headers } });
        assert.equal(created.status, 201, created.text);
        conforms('post', '/v1/ignite/uploads', created);
        return String(created.headers['location']);
    }
    test('OPTIONS, creation, PATCH, HEAD, the final 200, DELETE; 400, 404, 409, 410, 412, 413, 415', async (t) => {
        const stack = await startStack(t, { config: { maxContextBytes: 1_000_000 } });
        for (const path of ['/v1/ignite/uploads', '/v1/ignite/uploads/any']) {
            const options = await call(stack, 'options', path);
            assert.equal(options.status, 204);
            assert.equal(options.headers['tus-resumable'], undefined);
            conforms('options', path === '/v1/ignite/uploads' ? path : UPLOAD, options);
        }
        const noVersion = await call(stack, 'post', '/v1/ignite/uploads', { headers: { 'upload-length': '10' } });
        assert.equal(noVersion.status, 412);
        conforms('post', '/v1/ignite/uploads', noVersion);
        const zero = await call(stack, 'post', '/v1/ignite/uploads', { headers: { ...NAMED, 'upload-length': '0' } });
        assert.equal(zero.status, 400);
        conforms('post', '/v1/ignite/uploads', zero);
        const tooLarge = await call(stack, 'post', '/v1/ignite/uploads', { headers: { ...NAMED, 'upload-length': '1000001' } });
        assert.equal(tooLarge.status, 413);
        conforms('post', '/v1/ignite/uploads', tooLarge);
        // PATCH by PATCH, with the refusals that change nothing on the way.
        const archive = gzipLike(200_000);
        const path = await create(stack, archive.length);
        const first = await call(stack, 'patch', path, { body: archive.subarray(0, 50_000), headers: { ...OCTETS, 'upload-offset': '0' } });
        assert.equal(first.status, 204, first.text);
        conforms('patch', UPLOAD, first);
        const wrongOffset = await call(stack, 'patch', path, { body: archive.subarray(0, 10), headers: { ...OCTETS, 'upload-offset': '7' } });
        assert.equal(wrongOffset.status, 409);
        assert.equal(wrongOffset.headers['upload-offset'], '50000');
        conforms('patch', UPLOAD, wrongOffset);
        const wrongType = await call(stack, 'patch', path, { body: archive.subarray(50_000, 50_010), headers: { ...TUS, 'content-type': 'application/octet-stream', 'upload-offset': '50000' } });
        assert.equal(wrongType.status, 415);
        conforms('patch', UPLOAD, wrongType);
        const oldVersion = await call(stack, 'patch', path, { body: archive.subarray(50_000, 50_010), headers: { ...OCTETS, 'tus-resumable': '0.2.2', 'upload-offset': '50000' } });
        assert.equal(oldVersion.status, 412);
        conforms('patch', UPLOAD, oldVersion);
        const head = await call(stack, 'head', path, { headers: TUS });
        assert.equal(head.status, 200);
        assert.equal(head.headers['upload-offset'], '50000');
        conforms('head', UPLOAD, head);
        const overridden = await call(stack, 'post', path, { body: archive.subarray(50_000, 100_000), headers: { ...OCTETS, 'upload-offset': '50000', 'x-http-method-override': 'PATCH' } });
        assert.equal(overridden.status, 204, overridden.text);
        conforms('post', UPLOAD, overridden);
        const last = await call(stack, 'patch', path, { body: archive.subarray(100_000), headers: { ...OCTETS, 'upload-offset': '100000' } });
        assert.equal(last.status, 200, last.text);
        conforms('patch', UPLOAD, last);
        const done = await call(stack, 'head', path, { headers: TUS });
        assert.equal(done.headers['ignite-context-id'], JSON.parse(last.text).contextId);
        conforms('head', UPLOAD, done);
        const tooLate = await call(stack, 'delete', path, { headers: TUS });
        assert.equal(tooLate.status, 409);
        conforms('delete', UPLOAD, tooLate);
        // Unknown, gone, terminated.
        for (const method of ['head', 'patch', 'delete']) {
            const unknown = await call(stack, method, '/v1/ignite/uploads/AAAAAAAAAAAAAAAAAAAAAAAA', { headers: { ...OCTETS, 'upload-offset': '0' } });
            assert.equal(unknown.status, 404, method);
            conforms(method, UPLOAD, unknown);
        }
        const badOverride = await call(stack, 'post', path, { headers: { ...TUS, 'x-http-method-override': 'GET' } });
        assert.equal(badOverride.status, 404);
        conforms('post', UPLOAD, badOverride);
        const notArchive = await create(stack, 5000);
        const refused = await call(stack, 'patch', notArchive, { body: Buffer.from('hello, not an archive'), headers: { ...OCTETS, 'upload-offset': '0' } });
        assert.equal(refused.status, 415);
        conforms('patch', UPLOAD, refused);
        for (const method of ['head', 'patch']) {
            const gone = await call(stack, method, notArchive, { body: method === 'patch' ? gzipLike(10) : undefined, headers: { ...OCTETS, 'upload-offset': '0' } });
            assert.equal(gone.status, 410, method);
            conforms(method, UPLOAD, gone);
        }
        const terminated = await create(stack, 5000);
        const deleted = await call(stack, 'delete', terminated, { headers: TUS });
        assert.equal(deleted.status, 204);
        conforms('delete', UPLOAD, deleted);
        // creation-with-upload that carries the whole archive: 200 with the JSON and Location.
        const whole = gzipLike(30_000);
        const createdWhole = await call(stack, 'post', '/v1/ignite/uploads', { body: whole, headers: { ...NAMED, ...OCTETS, 'upload-length': String(whole.length) } });
        assert.equal(createdWhole.status, 200, createdWhole.text);
        assert.ok(createdWhole.headers['location']);
        conforms('post', '/v1/ignite/uploads', createdWhole);
    });
    test('a build through tus: the final 200 with `build`, 424, HEAD\'s Ignite-Build-* headers, 400 at creation', async (t) => {
        const faults = {};
        const stack = await startStack(t, { reference: { buildApi: { faults } } });
        const withBuild = { 'upload-metadata': `filename ${Buffer.from('ctx.tar.gz').toString('base64')},build ${Buffer.from('web').toString('base64')}` };
        const archive = gzipLike(40_000);
        for (const status of [undefined, 401]) {
            faults.status = status;
            const path = await create(stack, archive.length, withBuild);
            const final = await call(stack, 'patch', path, { body: archive, headers: { ...OCTETS, 'upload-offset': '0' } });
            assert.equal(final.status, status ? 424 : 200, final.text);
            conforms('patch', UPLOAD, final);
            const head = await call(stack, 'head', path, { headers: TUS });
            assert.equal(head.headers['ignite-build-state'], status ? 'not-started' : 'queued');
            conforms('head', UPLOAD, head);
        }
        const invalid = await call(stack, 'post', '/v1/ignite/uploads', { headers: { ...TUS, 'upload-length': '10', 'upload-metadata': `${withBuild['upload-metadata']},tags ${Buffer.from('-bad').toString('base64')}` } });
        assert.equal(invalid.status, 400);
        conforms('post', '/v1/ignite/uploads', invalid);
    });
    test('423 while the upstream commits, 503 at MAX_RESUMABLE_UPLOADS', async (t) => {
        const stack = await startStack(t, { config: { maxResumableUploads: 1 }, reference: { faults: { answerDelayMs: 1500 } } });
        const archive = gzipLike(70_000);
        const path = await create(stack, archive.length);
        const final = call(stack, 'patch', path, { body: archive, headers: { ...OCTETS, 'upload-offset': '0' } });
        let committing;
        for (let i = 0; i < 100 && !committing; i++) {
            const head = await call(stack, 'head', path, { headers: TUS });
            if (head.status === 423)
                committing = head;
            else
                await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.ok(committing, 'HEAD answered 423 during the commit');
        assert.equal(committing.headers['retry-after'], '5');
        conforms('head', UPLOAD, committing);
        const answered = await final;
        assert.equal(answered.status, 200, answered.text);
        await create(stack, 100);
        const full = await call(stack, 'post', '/v1/ignite/uploads', { headers: { ...NAMED, 'upload-length': '100', authorization: 'Bearer other' } });
        assert.equal(full.status, 503);
        assert.equal(full.headers['retry-after'], '5');
        conforms('post', '/v1/ignite/uploads', full);
    });
});
//# sourceMappingURL=openapi.test.js.map