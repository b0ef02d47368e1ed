import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadBuildProto } from '../src/grpc/proto.js';
import { UPLOAD_METHOD_PATH } from '../src/grpc/upload-messages.js';
import { startReferenceUpstream } from '../src/reference-upstream/server.js';
const UPSTREAM_MAIN = fileURLToPath(new URL('../src/reference-upstream/main.js', import.meta.url));
/** A fresh data directory, removed after the test. */
export async function tempDataDir(t) {
    const dataDir = await mkdtemp(join(tmpdir(), 'reference-upstream-test-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    return dataDir;
}
/** The reference upstream in-process on port 0, closed after the test. */
export async function startReference(t, options = {}) {
    const reference = await startReferenceUpstream({ dataDir: await tempDataDir(t), ...options });
    t.after(() => reference.close());
    return reference;
}
export const nextUpload = (reference) => once(reference.events, 'upload').then(([seen]) => seen);
/** Every build the reference upstream's CreateBuild API records from now on, in order. */
export function collectBuilds(events) {
    const builds = [];
    events.on('build', (b) => builds.push(b));
    return builds;
}
export const contextEntries = async (dir) => (await readdir(dir)).sort();
/**
 * Calls `listener` before each chunk the upstream writes to a call's temp
 * file, with the file's write stream: how a test knows the upstream really
 * holds bytes, and watches its backpressure.
 */
export function onTempFileWrite(reference, listener) {
    const store = reference.store;
    const begin = store.begin.bind(store);
    store.begin = () => {
        const incoming = begin();
        const stream = incoming.stream;
        const write = stream.write.bind(stream);
        stream.write = ((chunk) => {
            listener(stream, chunk);
            return write(chunk);
        });
        return incoming;
    };
}
/** A plain grpc-js client of UploadBuildContext, closed after the test. */
export function uploadClient(t, target) {
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    t.after(() => client.close());
    const method = loadBuildProto()['dodil.ignite.v1.BuildService']['UploadBuildContext'];
    return {
        close: () => client.close(),
        /** Opens a call and sends the metadata and chunks; `end` half-closes. The answer (or error) settles `answer`. */
        upload(name, chunks, { end = true } = {}) {
            let call;
            const answer = new Promise((resolve, reject) => {
                call = client.makeClientStreamRequest(UPLOAD_METHOD_PATH, method.requestSerialize, method.responseDeserialize, (err, response) => err ? reject(err) : resolve(response));
            });
            answer.catch(() => { });
            call.write({ metadata: { name, contentType: 'application/gzip', expectedSizeBytes: '0' } });
            for (const chunk of chunks)
                call.write({ chunk });
            if (end)
                call.end();
            return { call, answer };
        },
    };
}
/** The reference upstream as its own process (`main.js`), so a test can watch it exit on a fault. */
export async function spawnReference(t, dataDir, faults) {
    const child = spawn(process.execPath, [UPSTREAM_MAIN], {
        env: { ...process.env, HOST: '127.0.0.1', PORT: '0', IGNITE_DATA_DIR: dataDir, REFERENCE_FAULTS: faults ? JSON.stringify(faults) : '' },
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => { if (child.exitCode === null && child.signalCode === null)
        child.kill('SIGKILL'); });
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const target = await new Promise((resolve, reject) => {
        child.stdout.once('data', (data) => resolve(JSON.parse(data.toString().split('\n')[0]).listening));
        void exited.then((code) => reject(new Error(`the upstream exited (${code}) before listening`)));
    });
    return { child, target, exited };
}
/** One HTTP/2 frame. */
export function h2Frame(type, flags, streamId, payload = Buffer.alloc(0)) {
    const frame = Buffer.alloc(9 + payload.length);
    frame.writeUIntBE(payload.length, 0, 3);
    frame[3] = type;
    frame[4] = flags;
    frame.writeUInt32BE(streamId, 5);
    payload.copy(frame, 9);
    return frame;
}
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4 };
export const END_STREAM = 0x1;
const END_HEADERS = 0x4;
/** gRPC length-prefixed messages: UploadBuildContextRequest{metadata{name}}, then {chunk}. */
export function grpcMessages(name, chunk) {
    const message = (body) => {
        const prefix = Buffer.alloc(5);
        prefix.writeUInt32BE(body.length, 1);
        return Buffer.concat([prefix, body]);
    };
    const nameField = Buffer.concat([Buffer.from([0x12, name.length]), Buffer.from(name)]);
    const metadata = Buffer.concat([Buffer.from([0x0a, nameField.length]), nameField]);
    const chunkField = Buffer.concat([Buffer.from([0x12]), varint(chunk.length), chunk]);
    return Buffer.concat([message(metadata), message(chunkField)]);
}
function varint(value) {
    const bytes = [];
    for (; value > 0x7f; value >>>= 7)
        bytes.push((value & 0x7f) | 0x80);
    bytes.push(value);
    return Buffer.from(bytes);
}
/**
 * Opens an HTTP/2 connection on a bare socket and sends the preface, SETTINGS
 * and a HEADERS frame for UploadBuildContext on stream 1, followed by `then`,
 * all in one write: the server reads them together, in this order.
 */
export async function rawH2Call(target, then) {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const socket = connect(port, host);
    socket.on('error', () => { });
    socket.on('data', () => { });
    await once(socket, 'connect');
    const literal = (name, value) => Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
    const headers = Buffer.concat([
        literal(':method', 'POST'), literal(':scheme', 'http'), literal(':path', UPLOAD_METHOD_PATH),
        literal(':authority', target), literal('content-type', 'application/grpc'), literal('te', 'trailers'),
    ]);
    socket.write(Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), h2Frame(FRAME.SETTINGS, 0, 0), h2Frame(FRAME.HEADERS, END_HEADERS, 1, headers), ...then,
    ]));
    return () => socket.destroy();
}
export function rstStream(streamId, code) {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(code);
    return h2Frame(FRAME.RST_STREAM, 0, streamId, payload);
}
//# sourceMappingURL=reference-helpers.js.map