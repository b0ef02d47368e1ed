import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { assertNothingStored, assertRefusal, curl, gzipLike, markUpstream, multipartForm, sha256, startStack, storedBytes, warmUp, zipOf, } from './helpers.js';
import { tarHeader } from './tar-gz.js';
import { startSource } from './webhook-helpers.js';
const FIXTURES = new URL('../../test/fixtures/archives/', import.meta.url);
const fixture = (name) => readFile(new URL(name, FIXTURES));
const LOCAL = { importAllowHttp: true, importAllowPrivateAddresses: true };
const TUS = { 'tus-resumable': '1.0.0' };
/** Archives the tools people use make (test/fixtures/archives/make.sh): every one must pass. */
const CORPUS = [
    'gnu-long-name.tar.gz', 'pax-long-name.tar.gz', 'v7.tar.gz', 'bsdtar.tar.gz', 'git-archive.tar.gz',
    'pigz.tar.gz', 'two-members.tar.gz', 'zeros-first.tar.gz', 'zip64.zip', 'data-descriptor.zip',
];
async function put(stack, name, body, headers = {}) {
    const res = await request(`${stack.baseUrl}/v1/ignite/contexts/${name}`, { method: 'PUT', body, headers });
    return { status: res.statusCode, body: await res.body.text() };
}
/** What `curl -d @file` sends: the file without its CR and LF bytes. */
const withoutCrLf = (bytes) => Buffer.from(bytes.filter((b) => b !== 0x0a && b !== 0x0d));
/** A real gzip-compressed tar (not stored blocks: compressed data is what `curl -d` damages) of ~100 KiB. */
async function compressedTarGz() {
    const gz = await fixture('pigz.tar.gz');
    assert.ok(gz.length > 64 * 1024 && gz.includes(0x0a) && gz.includes(0x0d), 'the fixture holds CR and LF bytes past the head');
    return gz;
}
/** Every single-request form, sending `body` as its archive. */
const FORMS = {
    'raw POST': async (stack, body) => {
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts?name=ctx.tar.gz`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        return { status: res.statusCode, body: await res.body.text() };
    },
    PUT: (stack, body) => put(stack, 'ctx.tar.gz', body),
    'chunked PUT': async (stack, body) => {
        // undici frames an iterable body as chunked.
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts/ctx.tar.gz`, { method: 'PUT', body: Readable.from([body.subarray(0, 1000), body.subarray(1000)]) });
        return { status: res.statusCode, body: await res.body.text() };
    },
    multipart: async (stack, body) => {
        const form = multipartForm([{ name: 'file', filename: 'ctx.tar.gz', data: body }]);
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form.body, headers: form.headers });
        return { status: res.statusCode, body: await res.body.text() };
    },
};
async function createUpload(stack, length) {
    const res = await request(`${stack.baseUrl}/v1/ignite/uploads`, {
        method: 'POST',
        headers: { ...TUS, 'upload-length': String(length), 'upload-metadata': `filename ${Buffer.from('ctx.tar.gz').toString('base64')}` },
    });
    await res.body.dump();
    assert.equal(res.statusCode, 201);
    return new URL(String(res.headers['location']), stack.baseUrl).href;
}
async function patch(url, offset, body) {
    const res = await request(url, { method: 'PATCH', body, headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) } });
    return { status: res.statusCode, body: await res.body.text(), offset: res.headers['upload-offset'] };
}
/** A refusal that no call ever saw: the upstream observed no call opened since `mark` (proven by a sentinel upload, not by waiting). */
async function refusedBeforeAnyCall(stack, mark, reply, code, message, what) {
    assertRefusal(reply, 400, 3, message);
    const opened = await assertNothingStored(stack, mark);
    assert.deepEqual(opened, [], `${what}: the upstream saw no call at all (${code})`);
}
describe('the archive corpus passes', () => {
    test('GNU tar, PAX and GNU long names, V7, bsdtar, git archive, pigz, a two-member gzip, 200 MB of zeros first, zip64, a data-descriptor zip: stored byte for byte', async (t) => {
        const stack = await startStack(t);
        for (const name of CORPUS) {
            const archive = await fixture(name);
            const reply = await put(stack, name, archive);
            assert.equal(reply.status, 200, `${name}: ${reply.body}`);
            const { contextId } = JSON.parse(reply.body);
            assert.equal(sha256(await storedBytes(stack, contextId)), sha256(archive), name);
        }
    });
    test('the test fixtures themselves (gzipLike) and tar headers whose checksum is signed, space-led or space-ended', async (t) => {
        const stack = await startStack(t);
        const signed = tarHeader('caf\u00e9-\u00e9t\u00e9.txt', 0);
        // Old Sun tars summed the bytes as signed chars: with bytes over 127 the sums differ.
        let sum = 0;
        for (let i = 0; i < 512; i++)
            sum += i >= 148 && i < 156 ? 0x20 : (signed[i] << 24) >> 24;
        signed.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
        const spaced = tarHeader('spaced.txt', 0);
        spaced.write(` ${spaced.subarray(148, 154).toString()} `, 148); // the same six digits, led and ended by a space
        const archives = [
            ['signed', gzipSync(Buffer.concat([signed, Buffer.alloc(1024)]))],
            ['space-led', gzipSync(Buffer.concat([spaced, Buffer.alloc(1024)]))],
            ...[100, 4096, 64 * 1024, 600_000].map((size) => [`gzipLike(${size})`, gzipLike(size)]),
        ];
        for (const [what, archive] of archives) {
            const reply = await put(stack, 'ctx.tar.gz', archive);
            assert.equal(reply.status, 200, `${what}: ${reply.body}`);
            assert.equal(sha256(await storedBytes(stack, JSON.parse(reply.body).contextId)), sha256(archive), what);
        }
    });
});
describe('an archive that does not prove itself is refused before any call opens', () => {
    test('curl -d output (CR and LF stripped), a gzip of text, an empty tar, an empty zip, a cut gzip, a bad checksum, a nameless zip entry', async (t) => {
        const stack = await startStack(t);
        await warmUp(stack);
        const badChecksum = tarHeader('x.txt', 0);
        badChecksum[0] = 0x79; // the name changed, the checksum not
        const nameless = zipOf('x', Buffer.from('hi'));
        nameless.writeUInt16LE(0, 26);
        const cases = [
            ['curl -d of a tar.gz', withoutCrLf(await compressedTarGz()), 'ARCHIVE_CORRUPT', /corrupt.*--data-binary/s],
            ['a gzip of text', gzipSync(Buffer.from('just some text, not a tar\n'.repeat(100))), 'NOT_A_TAR', /does not hold a tar.*tar -cz/s],
            ['an empty tar', await fixture('empty.tar.gz'), 'EMPTY_ARCHIVE', /holds no files.*tar -cz/s],
            ['an empty zip', await fixture('empty.zip'), 'EMPTY_ARCHIVE', /holds no files/],
            ['a cut gzip', (await fixture('gnu-long-name.tar.gz')).subarray(0, 200), 'ARCHIVE_CORRUPT', /cut short/],
            ['a bad tar checksum', gzipSync(Buffer.concat([badChecksum, Buffer.alloc(1024)])), 'NOT_A_TAR', /checksum/],
            ['a zip entry without a name', nameless, 'ARCHIVE_CORRUPT', /no name/],
            ['a cut zip', zipOf('Dockerfile', Buffer.from('FROM scratch\n')).subarray(0, 60), 'ARCHIVE_CORRUPT', /end-of-central-directory/],
        ];
        for (const [what, body, code, message] of cases) {
            const mark = await markUpstream(stack);
            await refusedBeforeAnyCall(stack, mark, await put(stack, 'ctx.tar.gz', body), code, message, what);
        }
    });
    test('text renamed .tar.gz stays a 415', async (t) => {
        const stack = await startStack(t);
        const reply = await put(stack, 'ctx.tar.gz', Buffer.from('FROM scratch\n'.repeat(10_000)), { 'content-type': 'application/gzip' });
        assertRefusal(reply, 415, 3, /not a gzip or zip archive/);
        assert.deepEqual(await assertNothingStored(stack), []);
    });
    test('the real `curl -d @ctx.tar.gz` gets 400 naming --data-binary, and `--data-binary` of the same file is stored', async (t) => {
        const stack = await startStack(t);
        const dir = await mkdtemp(join(tmpdir(), 'curl-d-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        const file = join(dir, 'ctx.tar.gz');
        const archive = await compressedTarGz();
        await writeFile(file, archive);
        const mark = await markUpstream(stack);
        const url = `${stack.baseUrl}/v1/ignite/contexts?name=ctx.tar.gz`;
        const dashD = await curl(['-d', `@${file}`, url]);
        await refusedBeforeAnyCall(stack, mark, dashD, 'ARCHIVE_CORRUPT', /curl --data-binary @file/, 'curl -d');
        const binary = await curl(['--data-binary', `@${file}`, url]);
        assert.equal(binary.status, 200, binary.body);
        assert.equal(sha256(await storedBytes(stack, JSON.parse(binary.body).contextId)), sha256(archive));
    });
    for (const [form, send] of Object.entries(FORMS)) {
        test(`${form}: curl -d damage is refused with no call opened`, async (t) => {
            const stack = await startStack(t);
            await warmUp(stack);
            const mark = await markUpstream(stack);
            await refusedBeforeAnyCall(stack, mark, await send(stack, withoutCrLf(await compressedTarGz())), 'ARCHIVE_CORRUPT', /--data-binary/, form);
            const good = await compressedTarGz();
            const stored = await send(stack, good);
            assert.equal(stored.status, 200, stored.body);
            assert.equal(sha256(await storedBytes(stack, JSON.parse(stored.body).contextId)), sha256(good));
        });
    }
    test('import: a source serving curl -d damage is refused with no call opened', async (t) => {
        const damaged = withoutCrLf(await compressedTarGz());
        const source = await startSource(t, (_req, res) => {
            res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': damaged.length });
            res.end(damaged);
        });
        const stack = await startStack(t, { config: LOCAL });
        await warmUp(stack);
        const mark = await markUpstream(stack);
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts:import`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${source.origin}/ctx.tar.gz`, name: 'ctx.tar.gz' }),
        });
        await refusedBeforeAnyCall(stack, mark, { status: res.statusCode, body: await res.body.text() }, 'ARCHIVE_CORRUPT', /corrupt/, 'import');
    });
    test('a zip past the held head whose end is wrong is cancelled before its last chunk, never stored', async (t) => {
        const stack = await startStack(t);
        const zip = zipOf('big.bin', gzipLike(300_000));
        const cut = zip.subarray(0, zip.length - 10);
        const mark = await markUpstream(stack);
        const reply = await put(stack, 'ctx.zip', cut);
        assertRefusal(reply, 400, 3, /end-of-central-directory/);
        // The call opened once the head proved it may or may not have reached the upstream before its cancel: never with a byte.
        const calls = await assertNothingStored(stack, mark);
        assert.ok(calls.every((c) => c.outcome === 'cancelled' && c.bytes === 0), JSON.stringify(calls));
    });
});
describe('a resumable upload proves its archive before its call opens', () => {
    async function firstPatchHeld(t, archive) {
        const stack = await startStack(t);
        await warmUp(stack);
        const mark = await markUpstream(stack);
        const url = await createUpload(stack, archive.length);
        const first = await patch(url, 0, archive.subarray(0, 1000));
        assert.equal(first.status, 204, first.body);
        assert.equal(first.offset, '1000', 'the bytes the sniff holds count in Upload-Offset');
        const head = await request(url, { method: 'HEAD', headers: TUS });
        assert.equal(head.headers['upload-offset'], '1000');
        assert.deepEqual(await assertNothingStored(stack, mark), [], 'a first PATCH shorter than the head opens no call');
        return { stack, url, mark: await markUpstream(stack) };
    }
    test('curl -d damage: a short first PATCH is held (204, offset counted, no call), the next one is refused, no call ever opened', async (t) => {
        const damaged = withoutCrLf(await compressedTarGz());
        const { stack, url, mark } = await firstPatchHeld(t, damaged);
        const rest = await patch(url, 1000, damaged.subarray(1000));
        await refusedBeforeAnyCall(stack, mark, rest, 'ARCHIVE_CORRUPT', /--data-binary/, 'tus');
    });
    test('a good archive: held first, stored whole and exact', async (t) => {
        const archive = await compressedTarGz();
        const { stack, url } = await firstPatchHeld(t, archive);
        const rest = await patch(url, 1000, archive.subarray(1000));
        assert.equal(rest.status, 200, rest.body);
        assert.equal(sha256(await storedBytes(stack, JSON.parse(rest.body).contextId)), sha256(archive));
    });
    test('an archive shorter than the head, sent in two PATCHes, is proven at its end', async (t) => {
        const archive = gzipLike(5000);
        const { stack, url } = await firstPatchHeld(t, archive);
        const rest = await patch(url, 1000, archive.subarray(1000));
        assert.equal(rest.status, 200, rest.body);
        assert.equal(sha256(await storedBytes(stack, JSON.parse(rest.body).contextId)), sha256(archive));
    });
});
describe('multipart text fields other than the known ones are ignored', () => {
    test("Uppy XHR upload's form (name, type, then file) and other clients' fields are stored; a second file part is still 400", async (t) => {
        const stack = await startStack(t);
        const archive = gzipLike(300_000);
        const uppy = multipartForm([
            { name: 'name', value: 'ctx.tar.gz' },
            { name: 'type', value: 'application/gzip' },
            { name: 'file', filename: 'ctx.tar.gz', data: archive },
        ]);
        const others = multipartForm([
            { name: 'relativePath', value: 'null' },
            { name: 'build', value: 'web' },
            { name: 'tags', value: 'latest' },
            { name: 'name', value: 'other.tar.gz' },
            { name: 'file', filename: 'x.tar.gz', data: archive },
        ]);
        for (const [what, form, name] of [['uppy', uppy, 'ctx.tar.gz'], ['others', others, 'other.tar.gz']]) {
            const observed = stack.nextObservation();
            const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: form.body, headers: form.headers });
            const body = await res.body.text();
            assert.equal(res.statusCode, 200, `${what}: ${body}`);
            assert.equal((await observed).metadata?.name, name, what);
            assert.equal(sha256(await storedBytes(stack, JSON.parse(body).contextId)), sha256(archive), what);
        }
        const twoFiles = multipartForm([{ name: 'type', value: 'x' }, { name: 'file', filename: 'a.tar.gz', data: archive }, { name: 'file', filename: 'b.tar.gz', data: archive }]);
        const res = await request(`${stack.baseUrl}/v1/ignite/contexts`, { method: 'POST', body: twoFiles.body, headers: twoFiles.headers });
        assertRefusal({ status: res.statusCode, body: await res.body.text() }, 400, 3, /second file part/);
    });
});
//# sourceMappingURL=archive-head.test.js.map