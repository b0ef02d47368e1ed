import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config.js';
import { readPem } from '../read-pem.js';
/** TLS_CERT_FILE and TLS_KEY_FILE, both or neither; read once, so a bad file stops start-up with one line. */
export function serverTls(config) {
    if (!config.tlsCertFile && !config.tlsKeyFile)
        return undefined;
    if (!config.tlsCertFile)
        throw new ConfigError('TLS_KEY_FILE is set without TLS_CERT_FILE: TLS needs both (or neither, for plain HTTP)');
    if (!config.tlsKeyFile)
        throw new ConfigError('TLS_CERT_FILE is set without TLS_KEY_FILE: TLS needs both (or neither, for plain HTTP)');
    const cert = readPem(config.tlsCertFile, 'TLS_CERT_FILE');
    const key = readPem(config.tlsKeyFile, 'TLS_KEY_FILE');
    try {
        createSecureContext({ cert, key });
    }
    catch (err) {
        throw new ConfigError(`TLS_CERT_FILE/TLS_KEY_FILE are not a usable certificate and key: ${err.message}`);
    }
    return { cert, key };
}
//# sourceMappingURL=server-tls.js.map