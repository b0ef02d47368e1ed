import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';
/** A PEM file named by a setting, read at start-up: unset is undefined; unreadable or not PEM stops start-up with one line naming `env`. */
export function readPem(path, env) {
    if (!path)
        return undefined;
    try {
        const pem = readFileSync(path);
        if (!pem.includes('-----BEGIN'))
            throw new Error('no PEM block in it');
        return pem;
    }
    catch (err) {
        throw new ConfigError(`${env}=${path} cannot be used: ${err.code ?? err.message}`);
    }
}
//# sourceMappingURL=read-pem.js.map