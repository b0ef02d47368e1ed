import { Agent, errors, request } from 'undici';
import type { BuildRequest } from './build-request.js';
import { NO_SPAN, tracing, type TraceSpan } from '../observability/tracing.js';

/** The API's answer is passed on verbatim, up to this size. */
export const MAX_BUILD_ANSWER_BYTES = 64 * 1024;

/** How a CreateBuild call ended, as the hand-off answers it. */
export type BuildOutcome =
  /** The API created the build: its JSON answer, verbatim, and its id when it names one. */
  | { kind: 'started'; json: string; id: string | undefined }
  /** The API refused or failed (4xx, 500, 503), or could not be reached at all: no build exists, a retry may start one. */
  | { kind: 'not-started'; apiStatus: number; message: string; details: unknown[] }
  /** No readable answer in time after the request went out, or a gateway's 502/504: the build may exist. */
  | { kind: 'unknown'; reason: string };

/** Headers the hand-off passes on to the API: the caller's credential and the request's ids. */
export interface BuildHeaders {
  authorization?: string | undefined;
  'x-request-id'?: string | undefined;
  traceparent?: string | undefined;
}

/**
 * The CreateBuild client: `POST {IGNITE_API_URL}/v1/ignite/builds` through one
 * pooled agent, one timer (BUILD_REQUEST_TIMEOUT_MS) for the whole call. It
 * never throws: every ending is a BuildOutcome, and only a request that
 * provably never reached the API (no connection) counts as not started
 * without an answer.
 */
export class BuildClient {
  private readonly agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });
  private readonly url: string;

  constructor(
    apiUrl: string,
    private readonly timeoutMs: number,
    /** Told every call's outcome and duration (metrics). */
    private readonly onOutcome: (outcome: BuildOutcome['kind'], seconds: number) => void = () => {},
  ) {
    this.url = `${apiUrl.replace(/\/$/, '')}/v1/ignite/builds`;
  }

  async create(build: BuildRequest, contextId: string, headers: BuildHeaders): Promise<BuildOutcome> {
    const started = performance.now();
    const span = tracing.on ? tracing.start('CreateBuild', {
      kind: 'client',
      attributes: { 'http.request.method': 'POST', 'url.full': this.url, 'ignite.context_id': contextId, 'ignite.build.name': build.name },
    }) : NO_SPAN;
    const outcome = await this.send(build, contextId, span.traceparent ? { ...headers, traceparent: span.traceparent } : headers, span);
    span.set({ 'ignite.build.outcome': outcome.kind, 'ignite.build_id': outcome.kind === 'started' ? outcome.id : undefined });
    if (outcome.kind === 'not-started') span.fail({ code: 'BUILD_NOT_STARTED', message: outcome.message });
    if (outcome.kind === 'unknown') span.fail({ code: 'BUILD_OUTCOME_UNKNOWN', message: outcome.reason });
    span.end();
    this.onOutcome(outcome.kind, (performance.now() - started) / 1000);
    return outcome;
  }

  /** One POST; `headers.traceparent` is the one sent (the span's when traced, else the request's). */
  private async send(build: BuildRequest, contextId: string, headers: BuildHeaders, span: TraceSpan): Promise<BuildOutcome> {
    const sent: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(headers) as Array<[string, string | undefined]>) if (value) sent[name] = value;
    const signal = AbortSignal.timeout(this.timeoutMs);
    let status: number;
    let body: string | undefined;
    try {
      const res = await request(this.url, {
        method: 'POST', dispatcher: this.agent, signal, headers: sent,
        body: JSON.stringify({ name: build.name, tags: build.tags, contextId }),
      });
      status = res.statusCode;
      span.set({ 'http.response.status_code': status });
      body = await readCapped(res.body);
    } catch (err) {
      if (err instanceof errors.ConnectTimeoutError || (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' || (err as NodeJS.ErrnoException).code === 'ENOTFOUND') {
        return { kind: 'not-started', apiStatus: 0, message: `the build API at ${this.url} could not be reached (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, details: [] };
      }
      return { kind: 'unknown', reason: signal.aborted ? `the build API did not answer within ${this.timeoutMs} ms (BUILD_REQUEST_TIMEOUT_MS)` : `the connection to the build API failed mid-call (${(err as Error).message})` };
    }
    const answer = body === undefined ? undefined : parseObject(body);
    if (status >= 200 && status < 300) {
      if (answer === undefined) return { kind: 'unknown', reason: `the build API answered ${status} with ${body === undefined ? `more than ${MAX_BUILD_ANSWER_BYTES} bytes` : 'something that is not a JSON object'}` };
      const id = typeof answer['id'] === 'string' ? answer['id'] : typeof answer['buildId'] === 'string' ? answer['buildId'] : undefined;
      return { kind: 'started', json: body!, id };
    }
    const message = typeof answer?.['message'] === 'string' ? answer['message'] : (body ?? '').slice(0, 512) || '(no message)';
    // A gateway's 502 or 504 says nothing of whether the API behind it created the build: a retry could start a second one.
    if (status === 502 || status === 504) return { kind: 'unknown', reason: `the build API answered ${status} (a gateway between us and it gave up): ${message}` };
    return { kind: 'not-started', apiStatus: status, message, details: Array.isArray(answer?.['details']) ? answer['details'] as unknown[] : [] };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The body as text, or undefined once it is over MAX_BUILD_ANSWER_BYTES (the rest is not read). */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | undefined> {
  const pieces: Buffer[] = [];
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

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
