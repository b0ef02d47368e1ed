import { isIP } from 'node:net';
import { ConfigError, describeSettings, type Config } from './config.js';

/** Checks across settings that no single parser can make. */
export function checkStartup(config: Pick<Config, 'host' | 'grpcTarget' | 'referenceToken' | 'grpcTls'>): void {
  if (!config.grpcTarget && !config.referenceToken && !isLoopback(config.host)) {
    throw new ConfigError(`HOST=${config.host} is reachable from other machines, but with no IGNITE_GRPC_TARGET the embedded reference upstream would store anyone's uploads without a token: set IGNITE_GRPC_TARGET to the real BuildService, or IGNITE_REFERENCE_TOKEN, or listen on 127.0.0.1`);
  }
  if (!config.grpcTarget && config.grpcTls) {
    throw new ConfigError('IGNITE_GRPC_TLS=true needs IGNITE_GRPC_TARGET: the embedded reference upstream listens in plaintext on loopback');
  }
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** `--help`: every setting with its default and meaning. */
export function helpText(): string {
  const rows = describeSettings();
  const width = Math.max(...rows.map((r) => r.env.length));
  const lines = rows.map((r) => `  ${r.env.padEnd(width)}  ${r.description} (default: ${r.default === '' ? 'unset' : r.default})`);
  return [
    'ignite-upload-bridge: HTTP uploads re-streamed to dodil.ignite.v1.BuildService/UploadBuildContext',
    '',
    'Usage: node dist/src/main.js [--help]',
    '',
    'Settings (environment variables, read once at start-up):',
    ...lines,
    '',
  ].join('\n');
}
