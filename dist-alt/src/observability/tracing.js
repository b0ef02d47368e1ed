/**
 * The bridge's own tracing facade. The pipeline talks only to this: with
 * tracing off it is a handful of no-ops and no OpenTelemetry module is ever
 * loaded; with tracing on, otel.ts installs an implementation backed by the
 * SDK (see tracing-switch.ts for when).
 */
export const NO_SPAN = Object.freeze({
    traceparent: undefined,
    set() { },
    fail() { },
    link() { },
    end() { },
});
const OFF = Object.freeze({
    on: false,
    start: () => NO_SPAN,
    current: () => NO_SPAN,
    logFields: () => ({}),
});
/** What the pipeline calls; replaced once at start-up when tracing is on. */
export let tracing = OFF;
export function installTracing(implementation) {
    tracing = implementation ?? OFF;
}
//# sourceMappingURL=tracing.js.map