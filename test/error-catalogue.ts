import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { GrpcCode } from '../src/errors.js';
import { OPENAPI_PATH } from '../src/routes/openapi.js';

/** Every reason the bridge can put in an ErrorInfo: the catalogue's codes, read from its source, and one per upstream gRPC code. */
export async function catalogueCodes(): Promise<string[]> {
  const source = await readFile(new URL('../../src/errors.ts', import.meta.url), 'utf8');
  const codes = [...source.matchAll(/(?:new BridgeError|new BuildError|invalid|super)\(\s*'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!);
  const upstream = Object.keys(GrpcCode).filter((name) => name !== 'OK').map((name) => `UPSTREAM_${name}`);
  return [...new Set([...codes, ...upstream])].sort();
}

/** The reasons openapi.yaml's ErrorInfo schema documents. */
export async function documentedReasons(): Promise<string[]> {
  const document = parse(await readFile(OPENAPI_PATH, 'utf8')) as { components: { schemas: { ErrorInfo: { properties: { reason: { enum: string[] } } } } } };
  return document.components.schemas.ErrorInfo.properties.reason.enum;
}
