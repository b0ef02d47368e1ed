import { createServer } from 'node:http';
import { access, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';
const BUILD_ID = /^bld_[0-9A-HJKMNP-TV-Z]{26}$/;
const CONTEXT_ID = /^ctx_[0-9A-HJKMNP-TV-Z]{26}$/;
const MAX_BODY_BYTES = 64 * 1024;
/**
 * The reference's CreateBuild API over HTTP, as the dodil gateway serves it:
 * `POST /v1/ignite/builds` with `{"name","tags","contextId"}` creates a build
 * record under IGNITE_DATA_DIR/builds/, `GET /v1/ignite/builds/{id}` reads it
 * back. Errors have the gateway's google.rpc.Status shape. It builds nothing:
 * it is the other end of the bridge's hand-off, for `npm start` and the tests.
 */
export async function startBuildApi(options) {
    const dir = join(options.dataDir, 'builds');
    await mkdir(dir, { recursive: true });
    const server = createServer((req, res) => {
        handle(req, res, dir, options).catch((err) => {
            if (!res.headersSent)
                answerError(res, 500, 13, `the build API failed: ${err.message}`);
            else
                res.destroy();
        });
    });
    server.keepAliveTimeout = 5000;
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => resolve());
    });
    const { port } = server.address();
    return {
        url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
        close: () => closeServer(server),
    };
}
async function handle(req, res, dir, options) {
    const path = (req.url ?? '/').split('?')[0];
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
        req.resume();
        return refuse(res, options, 401, 16, 'missing or invalid bearer token');
    }
    if (req.method === 'GET' && path.startsWith('/v1/ignite/builds/')) {
        const id = path.slice('/v1/ignite/builds/'.length);
        if (!BUILD_ID.test(id))
            return answerError(res, 404, 5, `no build ${JSON.stringify(id)}`);
        const record = await readFile(join(dir, `${id}.json`), 'utf8').catch(() => undefined);
        if (record === undefined)
            return answerError(res, 404, 5, `no build ${id}`);
        return answer(res, 200, record);
    }
    if (path !== '/v1/ignite/builds')
        return answerError(res, 404, 5, `no route for ${req.method} ${path}`);
    if (req.method !== 'POST')
        return answerError(res, 405, 12, 'use POST /v1/ignite/builds');
    const body = await readBody(req);
    if (body === undefined)
        return refuse(res, options, 400, 3, `the body is over ${MAX_BODY_BYTES} bytes`);
    if (options.faults?.delayMs)
        await new Promise((resolve) => setTimeout(resolve, options.faults.delayMs));
    if (options.faults?.status)
        return refuse(res, options, options.faults.status, 14, 'injected failure');
    let request;
    try {
        request = JSON.parse(body);
    }
    catch {
        return refuse(res, options, 400, 3, 'the body is not JSON');
    }
    if (typeof request.name !== 'string' || request.name === '')
        return refuse(res, options, 400, 3, 'name is required');
    if (typeof request.contextId !== 'string' || request.contextId === '')
        return refuse(res, options, 400, 3, 'contextId is required');
    const tags = request.tags ?? [];
    if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string'))
        return refuse(res, options, 400, 3, 'tags must be an array of strings');
    const stored = CONTEXT_ID.test(request.contextId)
        && await access(join(options.contextsDir, `${request.contextId}.json`)).then(() => true, () => false);
    if (!stored)
        return refuse(res, options, 404, 5, `context ${request.contextId} was never stored`);
    const record = {
        id: `bld_${ulid()}`, name: request.name, tags: tags, contextId: request.contextId, state: 'QUEUED', createTime: new Date().toISOString(),
    };
    const json = JSON.stringify(record);
    // Written whole under a temp name, then renamed: a reader never sees half a record.
    const temp = join(dir, `.${record.id}.json`);
    const handle = await open(temp, 'wx');
    try {
        await handle.writeFile(json);
        await handle.sync();
    }
    finally {
        await handle.close();
    }
    await rename(temp, join(dir, `${record.id}.json`));
    options.events.emit('build', record, req.headersDistinct);
    answer(res, 200, json);
}
async function readBody(req) {
    const pieces = [];
    let size = 0;
    for await (const piece of req) {
        size += piece.length;
        if (size > MAX_BODY_BYTES)
            return undefined;
        pieces.push(piece);
    }
    return Buffer.concat(pieces).toString('utf8');
}
function refuse(res, options, status, code, message) {
    options.events.emit('build-refused', status);
    answerError(res, status, code, message);
}
function answerError(res, status, code, message) {
    answer(res, status, JSON.stringify({ code, message, details: [] }));
}
function answer(res, status, json) {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
}
function closeServer(server) {
    return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
}
//# sourceMappingURL=build-api.js.map