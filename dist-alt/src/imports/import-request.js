import { Errors } from '../errors.js';
import { validateName } from '../upload/names.js';
import { buildRequest } from '../builds/build-request.js';
const MAX_HEADERS = 20;
/** Headers that belong to the connection or would defeat the pinning and framing the bridge controls. */
const FORBIDDEN_HEADERS = new Set([
    'host', 'connection', 'content-length', 'transfer-encoding', 'te', 'trailer', 'upgrade',
    'keep-alive', 'expect', 'accept-encoding', 'proxy-authorization', 'proxy-connection',
]);
/** The JSON body of POST /v1/ignite/contexts:import, checked field by field (400 naming the field). */
export function parseImportRequest(body) {
    let json;
    try {
        json = JSON.parse(body.toString('utf8'));
    }
    catch {
        throw Errors.invalidImport('The body is not valid JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
        throw Errors.invalidImport('The body is not a JSON object');
    const { url, name, headers, build, tags, ...rest } = json;
    const unknown = Object.keys(rest);
    if (unknown.length > 0)
        throw Errors.invalidImport(`Unknown field ${JSON.stringify(unknown[0])} (known: url, name, headers, build, tags)`);
    if (tags !== undefined && !Array.isArray(tags))
        throw Errors.invalidBuild('"tags" must be an array of strings, e.g. ["latest"]');
    if (typeof url !== 'string' || url === '')
        throw Errors.invalidImport('"url" is missing or not a string');
    if (typeof name !== 'string')
        throw Errors.invalidImport('"name" is missing or not a string');
    return { url, name: validateName(name), headers: parseHeaders(headers), build: buildRequest(build, tags) };
}
function parseHeaders(headers) {
    if (headers === undefined)
        return {};
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
        throw Errors.invalidImport('"headers" is not an object of header names to string values');
    }
    const entries = Object.entries(headers);
    if (entries.length > MAX_HEADERS)
        throw Errors.invalidImport(`"headers" has ${entries.length} entries (at most ${MAX_HEADERS})`);
    const result = {};
    for (const [rawName, value] of entries) {
        const name = rawName.toLowerCase();
        if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
            throw Errors.invalidImport(`"headers" has an invalid header name ${JSON.stringify(rawName)}`);
        if (FORBIDDEN_HEADERS.has(name))
            throw Errors.invalidImport(`"headers" may not set ${rawName}: the bridge controls it`);
        if (typeof value !== 'string' || /[\r\n\0]/.test(value) || value.length > 8192) {
            throw Errors.invalidImport(`"headers"."${rawName}" is not a single-line string of at most 8192 characters`);
        }
        result[name] = value;
    }
    return result;
}
//# sourceMappingURL=import-request.js.map