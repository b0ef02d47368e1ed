import ipaddr from 'ipaddr.js';
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
const RANGE_NAMES = {
    loopback: 'a loopback address',
    private: 'a private (RFC 1918) address',
    linkLocal: 'a link-local address (cloud metadata services live there)',
    carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
    multicast: 'a multicast address',
    unspecified: 'the unspecified address',
    uniqueLocal: 'a unique-local (fc00::/7) address',
    broadcast: 'the broadcast address',
};
/**
 * Why an import may not connect to `address`, or undefined when it may.
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is judged as the
 * IPv4 address it carries. Only global unicast passes: reserved, 6to4,
 * Teredo, NAT64 and the like can also reach inward, so they are refused too.
 */
export function refusedAddressReason(address, allowPrivate) {
    if (!ipaddr.isValid(address))
        return `${address} is not an IP address`;
    const ip = ipaddr.process(address);
    // ipaddr.js calls the deprecated IPv4-compatible range (::a.b.c.d) unicast; on 6in4 hosts it reaches inward.
    let range = ip.range();
    if (range === 'unicast' && ip.kind() === 'ipv6' && ip.match(IPV4_COMPATIBLE))
        range = 'ipv4Compatible';
    if (range === 'unicast' || allowPrivate)
        return undefined;
    return `${ip.toString()} is ${RANGE_NAMES[range] ?? `in a special-purpose range (${range})`}`;
}
//# sourceMappingURL=address-policy.js.map