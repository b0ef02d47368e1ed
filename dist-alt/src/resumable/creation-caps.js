import { isIPv6 } from 'node:net';
import { Errors } from '../errors.js';
/**
 * The cap key of a client address (Fastify's request.ip, i.e. after
 * TRUST_PROXY): an IPv4 address whole, an IPv6 address by its /64, since one
 * host is routinely handed a whole /64.
 */
export function addressCapKey(ip) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped)
        return `address:${mapped[1]}`;
    if (!isIPv6(ip))
        return `address:${ip}`;
    const [head = '', tail = ''] = ip.split('::');
    const left = head === '' ? [] : head.split(':');
    const right = tail === '' ? [] : tail.split(':');
    const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
    return `address:${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
/** The cap key of a credential scope (a SHA-256 of the Authorization header). */
export const credentialCapKey = (scope) => `credential:${scope}`;
/**
 * What MAX_RESUMABLE_UPLOADS bounds on one replica: the uploads it holds,
 * plus (with REDIS_URL) the records it created that no replica claimed yet,
 * so a flood of creations fills neither the replica nor Redis. Each cap key
 * (a client address, a credential) may hold a quarter of it, since tokens
 * are not verified at creation and an invented one costs nothing.
 */
export class CreationCaps {
    max;
    perKeyMax;
    holders = new Map();
    counts = new Map();
    constructor(max) {
        this.max = max;
        this.perKeyMax = Math.max(1, Math.floor(max / 4));
    }
    get size() {
        return this.holders.size;
    }
    /** Throws the 503 naming the full cap, unless `id` already holds its place. */
    assertRoom(keys, id) {
        this.forgetLapsed();
        if (id !== undefined && this.holders.has(id))
            return;
        if (this.holders.size >= this.max)
            throw Errors.resumableCapacity(this.max, 'replica');
        for (const key of keys) {
            if ((this.counts.get(key) ?? 0) >= this.perKeyMax)
                throw Errors.resumableCapacity(this.perKeyMax, key.startsWith('address:') ? 'address' : 'credential');
        }
    }
    /** Counts `id` until `release`, or until `until` (a creation nobody claimed lapses with its record). */
    take(id, keys, until = Infinity) {
        this.release(id);
        this.holders.set(id, { keys, until });
        for (const key of keys)
            this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
    release(id) {
        const held = this.holders.get(id);
        if (!held)
            return;
        this.holders.delete(id);
        for (const key of held.keys) {
            const left = (this.counts.get(key) ?? 1) - 1;
            if (left > 0)
                this.counts.set(key, left);
            else
                this.counts.delete(key);
        }
    }
    /** Ids counted as unclaimed creations (with a lapse time), for a check against the shared store. */
    unclaimed() {
        return [...this.holders].filter(([, held]) => held.until !== Infinity).map(([id]) => id);
    }
    forgetLapsed() {
        const now = Date.now();
        for (const [id, held] of this.holders)
            if (held.until <= now)
                this.release(id);
    }
}
//# sourceMappingURL=creation-caps.js.map