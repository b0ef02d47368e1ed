import { isIP } from 'node:net';
import { ConfigError } from './config.js';
/** Checks across settings that no single parser can make. */
export function checkStartup(config) {
    if (!config.grpcTarget && !config.referenceToken && !isLoopback(config.host)) {
        throw new ConfigError(`HOST=${config.host} is reachable from other machines, but with no IGNITE_GRPC_TARGET the embedded reference upstream would store anyone's uploads without a token: set IGNITE_GRPC_TARGET to the real BuildService, or IGNITE_REFERENCE_TOKEN, or listen on 127.0.0.1`);
    }
    if (!config.grpcTarget && config.grpcTls) {
        throw new ConfigError('IGNITE_GRPC_TLS=true needs IGNITE_GRPC_TARGET: the embedded reference upstream listens in plaintext on loopback');
    }
}
export function isLoopback(host) {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (h === 'localhost' || h.endsWith('.localhost'))
        return true;
    if (isIP(h) === 4)
        return h.startsWith('127.');
    if (isIP(h) === 6)
        return h === '::1' || /^::ffff:127\./.test(h);
    return false;
}
//# sourceMappingURL=startup-checks.js.map