import { Errors } from '../errors.js';
/** RFC 9530 algorithm keys the bridge verifies, with their digest lengths. */
const SUPPORTED = {
    'sha-256': { algorithm: 'sha256', bytes: 32 },
    'sha-512': { algorithm: 'sha512', bytes: 64 },
};
// A dictionary member `key=:base64:` with optional parameters (which RFC 9530 does not define; ignored).
const MEMBER = /^([a-z*][a-z0-9_.*-]*)(?:=(.*?))?(;.*)?$/;
const BYTE_SEQUENCE = /^:([A-Za-z0-9+/]*={0,2}):$/;
/**
 * The `Content-Digest` and `Repr-Digest` request headers of a raw upload
 * (RFC 9530 structured-field dictionaries). Without a Content-Encoding the
 * content is the representation, so both describe the archive bytes.
 * Unknown algorithms are ignored as the RFC says, but a header that names
 * none the bridge can verify is refused: the client asked for an integrity
 * check, and silently skipping it would store bytes it never vouched for.
 */
export function digestsFromHeaders(headers) {
    const expected = [];
    for (const name of ['content-digest', 'repr-digest']) {
        const raw = headers[name];
        if (raw === undefined)
            continue;
        const header = name === 'content-digest' ? 'Content-Digest' : 'Repr-Digest';
        const found = parseDictionary(Array.isArray(raw) ? raw.join(',') : raw, header);
        if (found.length === 0) {
            throw Errors.invalidDigestHeader(`${header} names no algorithm the bridge verifies (it verifies ${Object.keys(SUPPORTED).join(' and ')}), e.g. \`${header}: sha-256=:$(openssl dgst -sha256 -binary ctx.tar.gz | base64):\``);
        }
        expected.push(...found);
    }
    return expected;
}
function parseDictionary(value, header) {
    const found = [];
    for (const member of value.split(',')) {
        const text = member.trim();
        if (text === '')
            continue;
        const match = MEMBER.exec(text);
        if (!match)
            throw Errors.invalidDigestHeader(`${header} is not a structured-field dictionary (expected e.g. \`sha-256=:<base64>:\`), at ${JSON.stringify(text)}`);
        const key = match[1];
        const supported = SUPPORTED[key];
        if (!supported)
            continue;
        const bytes = BYTE_SEQUENCE.exec(match[2] ?? '');
        const digest = bytes ? Buffer.from(bytes[1], 'base64') : undefined;
        if (!digest || digest.length !== supported.bytes) {
            throw Errors.invalidDigestHeader(`${header} ${key} must be a byte sequence of ${supported.bytes} bytes in base64 between colons, e.g. \`${key}=:<base64>:\``);
        }
        found.push({ algorithm: supported.algorithm, source: `${key} (${header})`, label: key, value: digest });
    }
    return found;
}
/** The multipart `sha256` field: the archive's SHA-256 in hex (what `sha256sum` prints). */
export function digestFromHexField(value) {
    if (value === undefined)
        return [];
    const hex = value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
        throw Errors.malformedMultipart(`the field sha256 must be 64 hex digits (the output of \`sha256sum ctx.tar.gz\`), not ${JSON.stringify(value.slice(0, 80))}`);
    }
    return [{ algorithm: 'sha256', source: 'sha-256 (multipart field sha256)', hex: true, label: 'sha-256', value: Buffer.from(hex, 'hex') }];
}
/** Every algorithm the streamer must compute: those of the declared digests, plus any another check or the client wants. */
export function algorithmsOf(expected, also = []) {
    return [...new Set([...expected.map((e) => e.algorithm), ...also])];
}
/**
 * RFC 9530 `Want-Repr-Digest` / `Want-Content-Digest` (the same thing here:
 * only `identity` encoding is accepted): a dictionary of algorithm keys
 * weighted 0 (not acceptable) to 10. Answers the supported algorithm with
 * the highest weight (sha-256 on a tie), or nothing: a preference is a hint,
 * so one the bridge cannot meet, or cannot read, asks for no work.
 */
export function wantedDigests(headers) {
    let best;
    for (const name of ['want-repr-digest', 'want-content-digest']) {
        const raw = headers[name];
        if (raw === undefined)
            continue;
        for (const member of (Array.isArray(raw) ? raw.join(',') : raw).split(',')) {
            const match = MEMBER.exec(member.trim());
            const supported = match && SUPPORTED[match[1]];
            if (!supported)
                continue;
            // A bare key is the structured-field boolean true: taken as weight 1.
            const weight = match[2] === undefined ? 1 : /^(?:10|[0-9])$/.test(match[2]) ? Number(match[2]) : 0;
            if (weight === 0)
                continue;
            if (!best || weight > best.weight || (weight === best.weight && supported.algorithm === 'sha256')) {
                best = { algorithm: supported.algorithm, weight };
            }
        }
    }
    return best ? [best.algorithm] : [];
}
/** The `Repr-Digest` response header for the digests computed over the archive, or undefined when none was. */
export function reprDigest(digests) {
    const members = Object.entries(SUPPORTED)
        .filter(([, { algorithm }]) => digests[algorithm])
        .map(([label, { algorithm }]) => `${label}=:${digests[algorithm].toString('base64')}:`);
    return members.length > 0 ? members.join(', ') : undefined;
}
/** Throws the 400 naming both digests when the received bytes do not match a declared digest. */
export function verifyDigests(expected, actual) {
    for (const digest of expected) {
        const got = actual[digest.algorithm];
        if (!got)
            throw new Error(`digest ${digest.algorithm} was not computed`);
        if (!got.equals(digest.value)) {
            const show = (b) => digest.hex ? b.toString('hex') : `${digest.label}=:${b.toString('base64')}:`;
            throw Errors.digestMismatch(digest.source, show(digest.value), show(got));
        }
    }
}
//# sourceMappingURL=digests.js.map