import { ConfigError } from '../config.js';
/**
 * Whether tracing is on, read from the OpenTelemetry specification's
 * variables: an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp turns it on,
 * OTEL_SDK_DISABLED=true wins; a service name or resource attributes alone
 * (often set cluster-wide) do not. Undefined when off. Throws a ConfigError
 * (one line at start-up) for what the bridge cannot honour.
 */
export function tracingSwitch(env = process.env) {
    if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true')
        return undefined;
    const exporter = env['OTEL_TRACES_EXPORTER']?.trim().toLowerCase();
    if (exporter === 'none')
        return undefined;
    if (exporter && exporter !== 'otlp') {
        throw new ConfigError(`OTEL_TRACES_EXPORTER=${exporter} is not supported: the bridge exports traces over OTLP only (set otlp, or none to turn tracing off)`);
    }
    const endpoint = Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim());
    if (!endpoint && exporter !== 'otlp')
        return undefined;
    const protocol = (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? 'http/protobuf').trim().toLowerCase();
    if (protocol === 'http/protobuf' || protocol === 'http/json')
        return { protocol };
    throw new ConfigError(protocol === 'grpc'
        ? 'OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: the bridge exports traces over OTLP/HTTP; set http/protobuf (the default) or http/json and point the endpoint at the collector\'s HTTP port (4318)'
        : `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not an OTLP protocol the bridge speaks: set http/protobuf (the default) or http/json`);
}
//# sourceMappingURL=tracing-switch.js.map