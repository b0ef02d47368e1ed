import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Errors } from '../errors.js';
import { refusedAddressReason } from './address-policy.js';
export const systemResolver = (hostname) => lookup(hostname, { all: true, verbatim: true });
/** Public form of a URL for messages: no credentials, no query (signed URLs carry secrets there). */
export function describeUrl(url) {
    return `${url.origin}${url.pathname}`;
}
/** Parses an import URL: 400 for anything that is not an absolute http(s) URL the policy's scheme rule allows. */
export function parseImportUrl(raw, policy) {
    let url;
    try {
        url = new URL(raw);
    }
    catch {
        throw Errors.invalidImport(`"url" is not an absolute URL: ${JSON.stringify(raw.slice(0, 200))}`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
        throw Errors.invalidImport(`The URL scheme "${url.protocol.replace(/:$/, '')}" is not allowed: only https${policy.allowHttp ? ' and http' : ''} (IMPORT_ALLOW_HTTP=true allows http)`);
    }
    if (url.username || url.password) {
        throw Errors.invalidImport('The URL carries a user name or password: pass credentials in "headers" instead (e.g. {"authorization": "Bearer …"})');
    }
    url.hash = '';
    return url;
}
/**
 * Host allow-list, then the addresses: an IP literal is checked as is (a socket
 * never calls a lookup for it), a name is resolved once and refused if ANY
 * of its addresses is refused, so a resolver mixing a public and a private
 * answer cannot slip the private one through. Nothing is connected to here.
 */
export async function checkTarget(url, policy, redirectedFrom) {
    const host = url.hostname.toLowerCase();
    const via = redirectedFrom ? ` (a redirect from ${describeUrl(redirectedFrom)})` : '';
    if (policy.allowedHosts.length > 0 && !policy.allowedHosts.includes(host)) {
        throw Errors.importRefused(`The host ${host}${via} is not in IMPORT_ALLOWED_HOSTS (${policy.allowedHosts.join(', ')})`);
    }
    const literal = host.replace(/^\[(.*)\]$/, '$1');
    let addresses;
    if (isIP(literal)) {
        addresses = [{ address: literal, family: isIP(literal) }];
    }
    else {
        try {
            addresses = await policy.resolveHost(host);
        }
        catch (err) {
            const code = err.code ?? String(err);
            throw Errors.importSourceFailed(`the host ${host} does not resolve (${code})`);
        }
        if (addresses.length === 0)
            throw Errors.importSourceFailed(`the host ${host} resolves to no address`);
    }
    for (const { address } of addresses) {
        const reason = refusedAddressReason(address, policy.allowPrivateAddresses);
        if (reason)
            throw Errors.importRefused(`${describeUrl(url)}${via} points at ${reason}${literal === address ? '' : ` (${host} resolves to it)`}`);
    }
    return { url, addresses };
}
//# sourceMappingURL=resolve-target.js.map