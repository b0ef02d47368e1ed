import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../config.js';
import { readPem } from '../read-pem.js';
/**
 * Credentials for the upstream channel: plaintext, TLS with the system roots,
 * TLS with a private CA, or mTLS. Files are read once, at start-up, so a
 * missing or unreadable file stops start-up with one line naming the variable.
 */
export function upstreamCredentials(config) {
    const tlsOnly = ['grpcCaFile', 'grpcCertFile', 'grpcKeyFile'].filter((key) => config[key]);
    if (!config.grpcTls) {
        if (tlsOnly.length)
            throw new ConfigError(`${envName(tlsOnly[0])} is set but IGNITE_GRPC_TLS is not true: set IGNITE_GRPC_TLS=true to use it`);
        return grpc.credentials.createInsecure();
    }
    if (Boolean(config.grpcCertFile) !== Boolean(config.grpcKeyFile)) {
        throw new ConfigError(config.grpcCertFile
            ? 'IGNITE_GRPC_CERT_FILE is set without IGNITE_GRPC_KEY_FILE: mTLS needs both'
            : 'IGNITE_GRPC_KEY_FILE is set without IGNITE_GRPC_CERT_FILE: mTLS needs both');
    }
    const ca = readPem(config.grpcCaFile, 'IGNITE_GRPC_CA_FILE');
    const cert = readPem(config.grpcCertFile, 'IGNITE_GRPC_CERT_FILE');
    const key = readPem(config.grpcKeyFile, 'IGNITE_GRPC_KEY_FILE');
    try {
        return grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
    }
    catch (err) {
        throw new ConfigError(`IGNITE_GRPC_CA_FILE/IGNITE_GRPC_CERT_FILE/IGNITE_GRPC_KEY_FILE are not usable PEM: ${err.message}`);
    }
}
/**
 * Keepalive pings notice a dead upstream connection (a silently dropped
 * NAT/LB flow) instead of waiting on it. Pings only while calls are active:
 * servers that do not permit pings without calls (gRPC-Go's default) answer
 * more frequent ones with GOAWAY too_many_pings, which would kill uploads.
 */
export function upstreamChannelOptions(config) {
    return {
        'grpc.keepalive_time_ms': config.grpcKeepaliveTimeMs,
        'grpc.keepalive_timeout_ms': config.grpcKeepaliveTimeoutMs,
        'grpc.keepalive_permit_without_calls': 0,
    };
}
function envName(key) {
    return { grpcCaFile: 'IGNITE_GRPC_CA_FILE', grpcCertFile: 'IGNITE_GRPC_CERT_FILE', grpcKeyFile: 'IGNITE_GRPC_KEY_FILE' }[key];
}
//# sourceMappingURL=upstream-channel.js.map