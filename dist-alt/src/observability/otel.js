/**
 * Tracing with the OpenTelemetry SDK, loaded (dynamically, before the
 * Fastify instance is created) only when tracing-switch.ts says it is on:
 * sdk-trace-node with a BatchSpanProcessor and the one OTLP/HTTP exporter the
 * protocol names, @fastify/otel for the server span. Everything else reads
 * the OpenTelemetry specification's variables itself: the exporter its
 * endpoint, headers and timeout, the batch processor OTEL_BSP_*, the sampler
 * OTEL_TRACES_SAMPLER(_ARG), the resource OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { installTracing, NO_SPAN } from './tracing.js';
const SERVICE_NAME = 'ignite-upload-bridge';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
export async function startTracing({ protocol }) {
    const { OTLPTraceExporter } = protocol === 'http/json'
        ? await import('@opentelemetry/exporter-trace-otlp-http')
        : await import('@opentelemetry/exporter-trace-otlp-proto');
    const resource = resourceFromAttributes({ 'service.name': SERVICE_NAME }).merge(detectResources({ detectors: [envDetector] }));
    const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
    // The context manager (AsyncLocalStorage) and the W3C propagator @fastify/otel extracts the client's traceparent with.
    provider.register();
    const tracer = provider.getTracer(SERVICE_NAME);
    const server = new FastifyOtelInstrumentation({
        // Subscribes to `fastify.initialization`: the server span's hooks come before every other hook.
        registerOnInitialization: true,
        // One span per request, not one per hook and handler.
        instrumentHooks: false,
        instrumentHandler: false,
        requestHook: (span, request) => {
            span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trim());
            const length = Number(request.headers['content-length']);
            if (Number.isSafeInteger(length))
                span.setAttribute('http.request.body.size', length);
            span.setAttribute('ignite.request_id', String(request.id));
        },
    });
    server.setTracerProvider(provider);
    const wrap = (span) => new SdkSpan(span);
    const parentContext = (parent) => {
        if (parent === undefined)
            return context.active();
        if (typeof parent === 'string') {
            const remote = spanContextOf(parent);
            return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : context.active();
        }
        return parent instanceof SdkSpan ? trace.setSpan(ROOT_CONTEXT, parent.span) : context.active();
    };
    const implementation = {
        on: true,
        start: (name, options = {}) => wrap(tracer.startSpan(name, {
            kind: options.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL,
            attributes: defined(options.attributes),
        }, parentContext(options.parent))),
        current: () => {
            const span = trace.getSpan(context.active());
            return span ? wrap(span) : NO_SPAN;
        },
        logFields: () => {
            const ids = trace.getSpan(context.active())?.spanContext();
            return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
        },
    };
    installTracing(implementation);
    return {
        shutdown: async () => {
            server.disable();
            installTracing(undefined);
            await provider.shutdown();
        },
    };
}
class SdkSpan {
    span;
    constructor(span) {
        this.span = span;
    }
    get traceparent() {
        const { traceId, spanId, traceFlags } = this.span.spanContext();
        return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    }
    set(attributes) {
        this.span.setAttributes(defined(attributes));
    }
    fail(error) {
        this.span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
        this.span.setAttribute('error.type', error.code);
        this.span.addEvent('exception', { 'exception.type': error.code, 'exception.message': error.message });
    }
    link(traceparent) {
        const linked = spanContextOf(traceparent);
        if (linked)
            this.span.addLink({ context: linked });
    }
    end() {
        this.span.end();
    }
}
function spanContextOf(traceparent) {
    const match = TRACEPARENT.exec(traceparent);
    if (!match)
        return undefined;
    const flags = parseInt(match[3], 16) & TraceFlags.SAMPLED;
    return { traceId: match[1], spanId: match[2], traceFlags: flags, isRemote: true };
}
function defined(attributes) {
    const out = {};
    for (const [key, value] of Object.entries(attributes ?? {}))
        if (value !== undefined)
            out[key] = value;
    return out;
}
//# sourceMappingURL=otel.js.map