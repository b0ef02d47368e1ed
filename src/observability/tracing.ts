/**
 * The bridge's own tracing facade. The pipeline talks only to this: with
 * tracing off it is a handful of no-ops and no OpenTelemetry module is ever
 * loaded; with tracing on, otel.ts installs an implementation backed by the
 * SDK (see tracing-switch.ts for when).
 */

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

export interface TraceSpan {
  /** The W3C traceparent naming this span, for the next hop; undefined when tracing is off. */
  readonly traceparent: string | undefined;
  set(attributes: SpanAttributes): void;
  /** Marks the span failed with the catalogue code (the ErrorInfo reason) and the message the client is told. */
  fail(error: { code: string; message: string }): void;
  /** Links this span to another one, e.g. a tus PATCH to its upload's creation. */
  link(traceparent: string): void;
  end(): void;
}

export interface StartOptions {
  kind?: 'internal' | 'client';
  attributes?: SpanAttributes;
  /** The parent span, or a traceparent kept from another request; default: the request being handled. */
  parent?: TraceSpan | string | undefined;
}

export interface Tracing {
  readonly on: boolean;
  start(name: string, options?: StartOptions): TraceSpan;
  /** The span of the request being handled (the server span), or a no-op one outside a request. */
  current(): TraceSpan;
  /** `trace_id` and `span_id` for a log line written while a request is handled. */
  logFields(): Record<string, string>;
}

export const NO_SPAN: TraceSpan = Object.freeze({
  traceparent: undefined,
  set() {},
  fail() {},
  link() {},
  end() {},
});

const OFF: Tracing = Object.freeze({
  on: false,
  start: () => NO_SPAN,
  current: () => NO_SPAN,
  logFields: () => ({}),
});

/** What the pipeline calls; replaced once at start-up when tracing is on. */
export let tracing: Tracing = OFF;

export function installTracing(implementation: Tracing | undefined): void {
  tracing = implementation ?? OFF;
}
