import { Agent, errors, request } from 'undici';
import { NO_SPAN, tracing } from '../observability/tracing.js';
/** The API's answer is passed on verbatim, up to this size. */
export const MAX_BUILD_ANSWER_BYTES = 64 * 1024;
/**
 * The CreateBuild client: `POST {IGNITE_API_URL}/v1/ignite/builds` through one
 * pooled agent, one timer (BUILD_REQUEST_TIMEOUT_MS) for the whole call. It
 * never throws: every ending is a BuildOutcome, and only a request that
 * provably never reached the API (no connection) counts as not started
 * without an answer.
 */
export class BuildClient {
    timeoutMs;
    agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });
    url;
    constructor(apiUrl, timeoutMs) {
        this.timeoutMs = timeoutMs;
        this.url = `${apiUrl.replace(/\/$/, '')}/v1/ignite/builds`;
    }
    async create(build, contextId, headers) {
        const span = tracing.on ? tracing.start('CreateBuild', {
            kind: 'client',
            attributes: { 'http.request.method': 'POST', 'url.full': this.url, 'ignite.context_id': contextId, 'ignite.build.name': build.name },
        }) : NO_SPAN;
        const outcome = await this.send(build, contextId, span.traceparent ? { ...headers, traceparent: span.traceparent } : headers, span);
        span.set({ 'ignite.build.outcome': outcome.kind, 'ignite.build_id': outcome.kind === 'started' ? outcome.id : undefined });
        if (outcome.kind === 'not-started')
            span.fail({ code: 'BUILD_NOT_STARTED', message: outcome.message });
        if (outcome.kind === 'unknown')
            span.fail({ code: 'BUILD_OUTCOME_UNKNOWN', message: outcome.reason });
        span.end();
        return outcome;
    }
    /** One POST; `headers.traceparent` is the one sent (the span's when traced, else the request's). */
    async send(build, contextId, headers, span) {
        const sent = { 'content-type': 'application/json' };
        for (const [name, value] of Object.entries(headers))
            if (value)
                sent[name] = value;
        const signal = AbortSignal.timeout(this.timeoutMs);
        let status;
        let body;
        try {
            const res = await request(this.url, {
                method: 'POST', dispatcher: this.agent, signal, headers: sent,
                body: JSON.stringify({ name: build.name, tags: build.tags, contextId }),
            });
            status = res.statusCode;
            span.set({ 'http.response.status_code': status });
            body = await readCapped(res.body);
        }
        catch (err) {
            if (err instanceof errors.ConnectTimeoutError || err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') {
                return { kind: 'not-started', apiStatus: 0, message: `the build API at ${this.url} could not be reached (${err.code ?? err.message})`, details: [] };
            }
            return { kind: 'unknown', reason: signal.aborted ? `the build API did not answer within ${this.timeoutMs} ms (BUILD_REQUEST_TIMEOUT_MS)` : `the connection to the build API failed mid-call (${err.message})` };
        }
        const answer = body === undefined ? undefined : parseObject(body);
        if (status >= 200 && status < 300) {
            if (answer === undefined)
                return { kind: 'unknown', reason: `the build API answered ${status} with ${body === undefined ? `more than ${MAX_BUILD_ANSWER_BYTES} bytes` : 'something that is not a JSON object'}` };
            const id = typeof answer['id'] === 'string' ? answer['id'] : typeof answer['buildId'] === 'string' ? answer['buildId'] : undefined;
            return { kind: 'started', json: body, id };
        }
        const message = typeof answer?.['message'] === 'string' ? answer['message'] : (body ?? '').slice(0, 512) || '(no message)';
        return { kind: 'not-started', apiStatus: status, message, details: Array.isArray(answer?.['details']) ? answer['details'] : [] };
    }
    close() {
        return this.agent.close();
    }
}
/** The body as text, or undefined once it is over MAX_BUILD_ANSWER_BYTES (the rest is not read). */
async function readCapped(body) {
    const pieces = [];
    let size = 0;
    for await (const piece of body) {
        size += piece.length;
        if (size > MAX_BUILD_ANSWER_BYTES) {
            body.destroy();
            return undefined;
        }
        pieces.push(piece);
    }
    return Buffer.concat(pieces).toString('utf8');
}
function parseObject(text) {
    try {
        const value = JSON.parse(text);
        return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
    }
    catch {
        return undefined;
    }
}
//# sourceMappingURL=create-build.js.map