/**
 * Runtime configuration: every setting is declared once here (name, default,
 * meaning, parser), read from the environment once at start-up, and passed
 * down. A bad value stops start-up with one line naming the variable.
 */

import { isIP } from 'node:net';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Parser<T> = (raw: string, env: string) => T;

interface Setting<T> {
  env: string;
  default: string;
  description: string;
  parse: Parser<T>;
}

const KIB = 1024;
const MIB = 1024 * KIB;

function integer(min: number, max: number): Parser<number> {
  return (raw, env) => {
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${env}=${JSON.stringify(raw)} is not a whole number (expected ${min} to ${max})`);
    const value = Number(raw.trim());
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`${env}=${raw} is out of range (expected ${min} to ${max})`);
    }
    return value;
  };
}

const text: Parser<string> = (raw) => raw.trim();

const optionalText: Parser<string | undefined> = (raw) => raw.trim() || undefined;

const httpUrl: Parser<string> = (raw, env) => {
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return url.toString().replace(/\/$/, '');
  } catch {
    throw new ConfigError(`${env}=${JSON.stringify(raw)} is not an http(s) URL`);
  }
};

const optionalHttpUrl: Parser<string | undefined> = (raw, env) => (raw.trim() ? httpUrl(raw, env) : undefined);

const hostList: Parser<string[]> = (raw, env) => {
  const hosts = raw.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const host of hosts) {
    if (!/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(host)) throw new ConfigError(`${env} contains ${JSON.stringify(host)}, which is not a host name (give names like github.com, comma-separated, no scheme or port)`);
  }
  return hosts;
};

/** A Redis/Valkey URL (`redis://` or `rediss://` for TLS, credentials and database in the URL), or unset. */
const redisUrl: Parser<string | undefined> = (raw, env) => {
  const value = raw.trim();
  if (!value) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch { /* reported below */ }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !url.hostname || !/^\/?(\d+)?$/.test(url.pathname)) {
    // The value may carry a password: the line names the variable, never the value.
    throw new ConfigError(`${env} is not a Redis URL: write redis://[user:password@]host[:port][/db], or rediss://… for TLS`);
  }
  return value;
};

/** An IPv4 or IPv6 address (no port, no brackets), or unset. */
const ipAddress: Parser<string | undefined> = (raw, env) => {
  const value = raw.trim();
  if (!value) return undefined;
  if (isIP(value) === 0) throw new ConfigError(`${env}=${JSON.stringify(raw)} is not an IP address`);
  return value;
};

const logLevel: Parser<string> = (raw, env) => {
  const v = raw.trim();
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v)) {
    throw new ConfigError(`${env}=${JSON.stringify(raw)} is not a log level (fatal, error, warn, info, debug, trace, silent)`);
  }
  return v;
};

const onOff: Parser<boolean> = (raw, env) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(`${env}=${JSON.stringify(raw)} is not true or false`);
};

/** Comma-separated browser origins, or `*`; each normalised as browsers send it in `Origin`. */
const originList: Parser<string[]> = (raw, env) => {
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.includes('*')) return ['*'];
  return entries.map((entry) => {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch { /* reported below */ }
    const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!url || !bare || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigError(`${env} entry ${JSON.stringify(entry)} is not an origin: write scheme://host[:port] with no path, e.g. https://app.example.com`);
    }
    return url.origin;
  });
};

/** Fastify's trustProxy: false, true (trust every hop), a hop count, or addresses/CIDRs to trust. */
const trustProxySetting: Parser<boolean | number | string[]> = (raw, env) => {
  const v = raw.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.some((e) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(e) && !['loopback', 'linklocal', 'uniquelocal'].includes(e))) {
    throw new ConfigError(`${env}=${JSON.stringify(raw)} is not true, false, a hop count or a comma-separated list of proxy addresses/CIDRs`);
  }
  return entries;
};

const settings = {
  host: { env: 'HOST', default: '127.0.0.1', description: 'HTTP listen address (the Docker image sets 0.0.0.0)', parse: text },
  port: { env: 'PORT', default: '8080', description: 'HTTP listen port (0 picks a free one)', parse: integer(0, 65535) },
  grpcTarget: { env: 'IGNITE_GRPC_TARGET', default: '', description: 'upstream gRPC target, e.g. api.dev.dodil.io:443; unset starts the embedded reference upstream on loopback', parse: optionalText },
  apiUrl: { env: 'IGNITE_API_URL', default: '', description: 'where the bridge calls CreateBuild (POST /v1/ignite/builds) for uploads that ask for a build, and the base URL the page shows; default: the embedded reference upstream\'s API when it runs, none when IGNITE_GRPC_TARGET is set (then a request that asks for a build gets 400 BUILD_NOT_CONFIGURED: callers\' tokens never go to a guessed host)', parse: optionalHttpUrl },
  buildRequestTimeoutMs: { env: 'BUILD_REQUEST_TIMEOUT_MS', default: '30000', description: 'how long the CreateBuild call may take before its outcome is unknown (424 BUILD_OUTCOME_UNKNOWN)', parse: integer(1, 86_400_000) },
  dataDir: { env: 'IGNITE_DATA_DIR', default: './data', description: 'where the embedded reference upstream stores contexts', parse: text },
  referenceToken: { env: 'IGNITE_REFERENCE_TOKEN', default: '', description: 'bearer token the embedded reference upstream requires', parse: optionalText },
  chunkSizeBytes: { env: 'CHUNK_SIZE_BYTES', default: String(512 * KIB), description: 'gRPC chunk size (16 KiB to 3 MiB)', parse: integer(16 * KIB, 3 * MIB) },
  maxContextBytes: { env: 'MAX_CONTEXT_BYTES', default: String(5 * 1024 * MIB), description: 'largest accepted archive, in bytes', parse: integer(1, Number.MAX_SAFE_INTEGER) },
  maxConcurrentUploads: { env: 'MAX_CONCURRENT_UPLOADS', default: '64', description: 'uploads in flight before 503', parse: integer(1, 100_000) },
  uploadIdleTimeoutMs: { env: 'UPLOAD_IDLE_TIMEOUT_MS', default: '30000', description: 'no body bytes for this long (while the bridge is reading) -> 408, upstream cancelled', parse: integer(1, 86_400_000) },
  upstreamResponseTimeoutMs: { env: 'UPSTREAM_RESPONSE_TIMEOUT_MS', default: '60000', description: 'no answer this long after the half-close, or the upstream not reading this long -> 504', parse: integer(1, 86_400_000) },
  upstreamOutcomeWaitMs: { env: 'UPSTREAM_OUTCOME_WAIT_MS', default: '600000', description: 'after a 504 for a half-closed call, keep waiting this long for its answer so a retry with the same Idempotency-Key can replay it; then reset the call and record the outcome as unknown', parse: integer(1, 86_400_000) },
  shutdownGraceMs: { env: 'SHUTDOWN_GRACE_MS', default: '30000', description: 'on SIGTERM/SIGINT: let uploads finish this long, then cancel those still receiving bytes; half-closed calls are still awaited (up to UPSTREAM_RESPONSE_TIMEOUT_MS)', parse: integer(0, 86_400_000) },
  logLevel: { env: 'LOG_LEVEL', default: 'info', description: 'pino log level', parse: logLevel },
  // Serving HTTP/2 and TLS:
  http2: { env: 'HTTP2', default: 'true', description: 'serve h2c (HTTP/2 prior knowledge) next to HTTP/1.1 on the same port, and ALPN h2 with TLS_CERT_FILE; false for HTTP/1.1 only', parse: onOff },
  tlsCertFile: { env: 'TLS_CERT_FILE', default: '', description: 'PEM certificate (chain) with TLS_KEY_FILE: the bridge terminates TLS itself, with ALPN h2 and http/1.1', parse: optionalText },
  tlsKeyFile: { env: 'TLS_KEY_FILE', default: '', description: 'PEM private key of TLS_CERT_FILE', parse: optionalText },
  // Operations (TLS to the upstream, proxies):
  grpcTls: { env: 'IGNITE_GRPC_TLS', default: 'false', description: 'true for TLS to the upstream (system roots unless IGNITE_GRPC_CA_FILE is set)', parse: onOff },
  grpcCaFile: { env: 'IGNITE_GRPC_CA_FILE', default: '', description: 'PEM file of the CA that signed the upstream\'s certificate (needs IGNITE_GRPC_TLS=true)', parse: optionalText },
  grpcCertFile: { env: 'IGNITE_GRPC_CERT_FILE', default: '', description: 'PEM client certificate for mTLS to the upstream (with IGNITE_GRPC_KEY_FILE)', parse: optionalText },
  grpcKeyFile: { env: 'IGNITE_GRPC_KEY_FILE', default: '', description: 'PEM private key of IGNITE_GRPC_CERT_FILE', parse: optionalText },
  grpcKeepaliveTimeMs: { env: 'IGNITE_GRPC_KEEPALIVE_TIME_MS', default: '300000', description: 'ping the upstream connection after this long without activity during calls, to notice a dead connection (servers refuse pings more often than they allow; gRPC-Go allows 5 min by default)', parse: integer(10_000, 86_400_000) },
  grpcKeepaliveTimeoutMs: { env: 'IGNITE_GRPC_KEEPALIVE_TIMEOUT_MS', default: '20000', description: 'a keepalive ping unanswered this long closes the upstream connection', parse: integer(1_000, 600_000) },
  trustProxy: { env: 'TRUST_PROXY', default: 'false', description: 'trust X-Forwarded-For from proxies: true, a hop count, or comma-separated proxy addresses/CIDRs (logs then show the client address)', parse: trustProxySetting },

  // Browser uploads:
  corsAllowedOrigins: { env: 'CORS_ALLOWED_ORIGINS', default: '', description: 'comma-separated origins (or *) whose pages may upload from a browser; empty = no CORS', parse: originList },
  uploadPage: { env: 'UPLOAD_PAGE', default: 'true', description: 'serve the browser upload page at / (false for API-only deployments)', parse: onOff },

  // Webhooks, idempotency, imports:
  webhookSecret: { env: 'WEBHOOK_SECRET', default: '', description: 'turns on HMAC-signed uploads (X-Signature-256, X-Signature-Timestamp); requests then need a signature or an Authorization header', parse: optionalText },
  serviceToken: { env: 'IGNITE_SERVICE_TOKEN', default: '', description: 'token sent upstream (Authorization: Bearer) for signed requests; their call is committed only once the signature verified', parse: optionalText },
  idempotencyTtlMs: { env: 'IDEMPOTENCY_TTL_MS', default: '86400000', description: 'how long a successful upload is replayed for a retry with the same Idempotency-Key', parse: integer(1000, 30 * 86_400_000) },
  idempotencyMaxKeys: { env: 'IDEMPOTENCY_MAX_KEYS', default: '10000', description: 'Idempotency-Keys remembered at most (oldest forgotten first)', parse: integer(1, 10_000_000) },
  importAllowedHosts: { env: 'IMPORT_ALLOWED_HOSTS', default: '', description: 'comma-separated host names import-from-URL may fetch from (also after redirects); empty allows any public host', parse: hostList },
  importAllowHttp: { env: 'IMPORT_ALLOW_HTTP', default: 'false', description: 'allow http: import URLs (https only otherwise)', parse: onOff },
  importAllowPrivateAddresses: { env: 'IMPORT_ALLOW_PRIVATE_ADDRESSES', default: 'false', description: 'allow import URLs that resolve to loopback/private/link-local addresses (tests and closed networks only)', parse: onOff },
  importTimeoutMs: { env: 'IMPORT_TIMEOUT_MS', default: '600000', description: 'whole download limit for one import', parse: integer(1, 86_400_000) },

  // Resumable uploads (tus 1.0):
  resumableUploads: { env: 'RESUMABLE_UPLOADS', default: 'true', description: 'serve the tus 1.0 resumable upload routes under /v1/ignite/uploads', parse: onOff },
  resumableExpiryMs: { env: 'RESUMABLE_EXPIRY_MS', default: '900000', description: 'a resumable upload with no progress this long expires (sliding); its call is cancelled', parse: integer(1000, 30 * 86_400_000) },
  resumableMaxLifetimeMs: { env: 'RESUMABLE_MAX_LIFETIME_MS', default: '86400000', description: 'the longest a resumable upload may live, progressing or not', parse: integer(1000, 30 * 86_400_000) },
  maxResumableUploads: { env: 'MAX_RESUMABLE_UPLOADS', default: '256', description: 'resumable uploads that may exist at once per replica (each holds an upstream stream); a per-credential cap is a quarter of it', parse: integer(1, 100_000) },
  resumableDrainMs: { env: 'RESUMABLE_DRAIN_MS', default: '900000', description: 'on SIGTERM with REDIS_URL: how long a replica keeps serving the resumable uploads it holds (other replicas forward to it; it refuses new ones) before resetting those left; without REDIS_URL the drain is SHUTDOWN_GRACE_MS', parse: integer(0, 86_400_000) },

  // Many replicas:
  redisUrl: { env: 'REDIS_URL', default: '', description: 'redis:// or rediss:// URL of the Redis/Valkey the replicas share for Idempotency-Keys and async imports (unset: process memory, one replica)', parse: redisUrl },

} satisfies Record<string, Setting<unknown>>;

/**
 * Facts the platform supplies about this replica, not choices an operator
 * makes: no default, and listed apart from the settings.
 */
const platformFacts = {
  podIp: { env: 'POD_IP', default: '', description: 'this replica\'s own IP address, to which other replicas forward requests for the resumable uploads it holds (Kubernetes: the downward API\'s status.podIP); unset: HOST when it names one address, else the first non-loopback interface address', parse: ipAddress },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings & typeof platformFacts;
export type Config = { -readonly [K in keyof Settings]: ReturnType<Settings[K]['parse']> };

/** Every setting with its default and meaning, for --help and docs/configuration.md. */
export function describeSettings(): Array<{ env: string; default: string; description: string }> {
  return Object.values(settings).map(({ env, default: d, description }) => ({ env, default: d, description }));
}

/** The facts read from the platform (POD_IP), for --help, docs/configuration.md and the manifests' checks. */
export function describePlatformFacts(): Array<{ env: string; description: string }> {
  return Object.values(platformFacts).map(({ env, description }) => ({ env, description }));
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries({ ...settings, ...platformFacts }) as Array<[string, Setting<unknown>]>) {
    const raw = env[setting.env];
    config[key] = setting.parse(raw === undefined ? setting.default : raw, setting.env);
  }
  return config as Config;
}

/** Defaults, overridden field by field: for tests and embedding. */
export function configWith(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), ...overrides };
}
