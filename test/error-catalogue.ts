import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { errorFamilies } from '../src/errors.js';
import { OPENAPI_PATH } from '../src/routes/openapi.js';

/** One reason as a family's table gives it. */
export interface CatalogueEntry {
  reason: string;
  family: string;
  statuses: number[];
  grpc: number;
}

/** Every (family, reason) of the families' tables, with every status it can be answered with. */
export function catalogueEntries(): CatalogueEntry[] {
  return errorFamilies.flatMap((family) => Object.entries(family.reasons)
    .map(([reason, wire]) => ({ reason, family: family.name, statuses: [wire.status, ...wire.alsoStatuses ?? []], grpc: wire.grpc })));
}

/** Every reason the bridge can put in an ErrorInfo, sorted. */
export async function catalogueCodes(): Promise<string[]> {
  return [...new Set(catalogueEntries().map((entry) => entry.reason))].sort();
}

/** The reasons each HTTP status can carry, by the catalogue, each list sorted. */
export function catalogueReasonsByStatus(): Map<number, string[]> {
  const byStatus = new Map<number, Set<string>>();
  for (const { reason, statuses } of catalogueEntries()) {
    for (const status of statuses) byStatus.set(status, (byStatus.get(status) ?? new Set()).add(reason));
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b).map(([status, reasons]) => [status, [...reasons].sort()]));
}

type Json = Record<string, unknown>;

export async function openapiDocument(): Promise<Json> {
  return parse(await readFile(OPENAPI_PATH, 'utf8')) as Json;
}

/** The reasons openapi.yaml's ErrorInfo schema documents. */
export async function documentedReasons(): Promise<string[]> {
  const document = await openapiDocument() as { components: { schemas: { ErrorInfo: { properties: { reason: { enum: string[] } } } } } };
  return document.components.schemas.ErrorInfo.properties.reason.enum;
}

/** The per-status schemas of openapi.yaml (`Status400`, …): the reasons each status documents. */
export async function documentedReasonsByStatus(): Promise<Map<number, string[]>> {
  const schemas = (await openapiDocument() as { components: { schemas: Record<string, Json> } }).components.schemas;
  const byStatus = new Map<number, string[]>();
  for (const [name, schema] of Object.entries(schemas)) {
    const status = /^Status(\d{3})$/.exec(name)?.[1];
    if (!status) continue;
    const contains = ((schema['properties'] as Json)['details'] as Json)['contains'] as Json;
    byStatus.set(Number(status), ((contains['properties'] as Json)['reason'] as { enum: string[] }).enum);
  }
  return byStatus;
}
