import { Errors } from '../errors.js';
import type { DigestAlgorithm } from './stream-upload.js';

/** One digest the client declared for the archive bytes, to check before the half-close. */
export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  /** Where the client declared it, for the error message: `sha-256 (Content-Digest)`. */
  source: string;
  /** Shown as hex (the multipart field) rather than as a structured-field byte sequence. */
  hex?: boolean;
  /** RFC 9530 label, e.g. `sha-256`. */
  label: string;
  value: Buffer;
}

/** RFC 9530 algorithm keys the bridge verifies, with their digest lengths. */
const SUPPORTED: Record<string, { algorithm: DigestAlgorithm; bytes: number }> = {
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
export function digestsFromHeaders(headers: Record<string, string | string[] | undefined>): ExpectedDigest[] {
  const expected: ExpectedDigest[] = [];
  for (const name of ['content-digest', 'repr-digest'] as const) {
    const raw = headers[name];
    if (raw === undefined) continue;
    const header = name === 'content-digest' ? 'Content-Digest' : 'Repr-Digest';
    const found = parseDictionary(Array.isArray(raw) ? raw.join(',') : raw, header);
    if (found.length === 0) {
      throw Errors.invalidDigestHeader(`${header} names no algorithm the bridge verifies (it verifies ${Object.keys(SUPPORTED).join(' and ')}), e.g. \`${header}: sha-256=:$(openssl dgst -sha256 -binary ctx.tar.gz | base64):\``);
    }
    expected.push(...found);
  }
  return expected;
}

function parseDictionary(value: string, header: string): ExpectedDigest[] {
  const found: ExpectedDigest[] = [];
  for (const member of value.split(',')) {
    const text = member.trim();
    if (text === '') continue;
    const match = MEMBER.exec(text);
    if (!match) throw Errors.invalidDigestHeader(`${header} is not a structured-field dictionary (expected e.g. \`sha-256=:<base64>:\`), at ${JSON.stringify(text)}`);
    const key = match[1]!;
    const supported = SUPPORTED[key];
    if (!supported) continue;
    const bytes = BYTE_SEQUENCE.exec(match[2] ?? '');
    const digest = bytes ? Buffer.from(bytes[1]!, 'base64') : undefined;
    if (!digest || digest.length !== supported.bytes) {
      throw Errors.invalidDigestHeader(`${header} ${key} must be a byte sequence of ${supported.bytes} bytes in base64 between colons, e.g. \`${key}=:<base64>:\``);
    }
    found.push({ algorithm: supported.algorithm, source: `${key} (${header})`, label: key, value: digest });
  }
  return found;
}

/** The multipart `sha256` field: the archive's SHA-256 in hex (what `sha256sum` prints). */
export function digestFromHexField(value: string | undefined): ExpectedDigest[] {
  if (value === undefined) return [];
  const hex = value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw Errors.malformedMultipart(`the field sha256 must be 64 hex digits (the output of \`sha256sum ctx.tar.gz\`), not ${JSON.stringify(value.slice(0, 80))}`);
  }
  return [{ algorithm: 'sha256', source: 'sha-256 (multipart field sha256)', hex: true, label: 'sha-256', value: Buffer.from(hex, 'hex') }];
}

/** The extra algorithms the streamer must compute for these expectations (sha256 always is). */
export function algorithmsOf(expected: ExpectedDigest[]): DigestAlgorithm[] {
  return [...new Set(expected.map((e) => e.algorithm))];
}

/** Throws the 400 naming both digests when the received bytes do not match a declared digest. */
export function verifyDigests(expected: ExpectedDigest[], actual: Partial<Record<DigestAlgorithm, Buffer>>): void {
  for (const digest of expected) {
    const got = actual[digest.algorithm];
    if (!got) throw new Error(`digest ${digest.algorithm} was not computed`);
    if (!got.equals(digest.value)) {
      const show = (b: Buffer) => digest.hex ? b.toString('hex') : `${digest.label}=:${b.toString('base64')}:`;
      throw Errors.digestMismatch(digest.source, show(digest.value), show(got));
    }
  }
}
