import { networkInterfaces } from 'node:os';
/**
 * The `http://host:port` at which other replicas reach this one: POD_IP when
 * the platform gives it, else HOST when it names one address, else this
 * machine's first non-loopback interface address; the port is the one the
 * server listens on (PORT=0 picks it at start-up).
 */
export function replicaAddress(podIp, listenHost, listening) {
    const port = typeof listening === 'object' && listening ? listening.port : 0;
    const host = podIp ?? (isWildcard(listenHost) ? interfaceAddress() : listenHost);
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
function isWildcard(host) {
    return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}
/** The first external IPv4 address, else IPv6 (not link-local), else loopback. */
function interfaceAddress() {
    const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal);
    return addresses.find((a) => a.family === 'IPv4')?.address
        ?? addresses.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80:'))?.address
        ?? '127.0.0.1';
}
//# sourceMappingURL=replica-address.js.map