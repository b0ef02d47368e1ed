import type { BuildOutcome } from '../builds/create-build.js';
import { Errors } from '../errors.js';
import { buildStateHeaders } from './resumable-build.js';
import type { RecordEnd, UploadRecord } from './resumable-records.js';
import type { Answer, ResumableUpload } from './resumable-upload.js';
import type { UnclaimedUpload } from './upload-store.js';

/** The tus 1.0 protocol's constants, its header grammar and the headers of its answers, as this bridge speaks it. */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,creation-defer-length,termination,expiration';
export const PATCH_CONTENT_TYPE = 'application/offset+octet-stream';
/** Room for a name, a build name (255 bytes) and 16 tags, base64-encoded, and a client's own fields. */
const MAX_METADATA_BYTES = 8192;

type Header = string | string[] | undefined;

/** A non-negative integer header (Upload-Length, Upload-Offset); undefined when absent. */
export function byteCount(name: string, value: Header): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? undefined : value.trim();
  const n = text !== undefined && /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw Errors.invalidTusHeader(`${name} is ${JSON.stringify(value)}, not a byte count`);
  return n;
}

/**
 * Upload-Metadata: comma-separated `key base64value` pairs (the value may be
 * absent). Answers the decoded values; the raw header is kept to echo in HEAD.
 */
export function parseMetadata(value: Header): Map<string, string> {
  const pairs = new Map<string, string>();
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) return pairs;
  if (Array.isArray(value)) throw Errors.invalidTusHeader('Upload-Metadata is given more than once');
  // It is kept with the upload (in Redis too) and echoed by HEAD: a name and a few fields, not a payload.
  if (value.length > MAX_METADATA_BYTES) throw Errors.invalidTusHeader(`Upload-Metadata is ${value.length} bytes, more than the ${MAX_METADATA_BYTES} kept`);
  for (const pair of value.split(',')) {
    const [key, encoded = '', ...rest] = pair.trim().split(' ');
    if (!key || !/^[\x21-\x7e]+$/.test(key) || rest.length > 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1) {
      throw Errors.invalidTusHeader(`Upload-Metadata has a malformed pair ${JSON.stringify(pair.trim())} (expected "key base64value", comma-separated)`);
    }
    if (pairs.has(key)) throw Errors.invalidTusHeader(`Upload-Metadata gives "${key}" twice`);
    pairs.set(key, Buffer.from(encoded, 'base64').toString('utf8'));
  }
  return pairs;
}

/** Upload-Expires is an RFC 9110 HTTP-date. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** An upload as its tus headers describe it, wherever it lives (held here, or read from its record). */
export interface TusState {
  offset: number;
  expiresAt: number;
  /** Upload-Length; undefined while deferred. */
  length?: number | undefined;
  /** The creation's Upload-Metadata, echoed by HEAD. */
  metadata?: string | undefined;
  /** The stored context, once completed. */
  answer?: Answer | undefined;
  /** Present for a stored context that asked for a build: where its build step stands (undefined: pending). */
  build?: { outcome: BuildOutcome | undefined } | undefined;
}

/**
 * The tus headers of an answer: Upload-Offset and Upload-Expires always,
 * Ignite-Context-Id and Ignite-Size-Bytes once stored, the Ignite-Build-*
 * state when a build was asked for; HEAD adds Cache-Control, the length
 * (or Upload-Defer-Length) and Upload-Metadata.
 */
export function tusHeaders(state: TusState, head = false): Record<string, string> {
  const headers: Record<string, string> = head ? { 'cache-control': 'no-store' } : {};
  headers['upload-offset'] = String(state.offset);
  headers['upload-expires'] = httpDate(state.expiresAt);
  if (state.answer) {
    headers['ignite-context-id'] = state.answer.contextId;
    headers['ignite-size-bytes'] = state.answer.sizeBytes;
  }
  if (state.build) Object.assign(headers, buildStateHeaders(state.build.outcome));
  if (head) {
    if (state.length === undefined) headers['upload-defer-length'] = '1';
    else headers['upload-length'] = String(state.length);
    if (state.metadata !== undefined) headers['upload-metadata'] = state.metadata;
  }
  return headers;
}

/** An upload held here (or just created), as its headers describe it. */
export function heldState(upload: ResumableUpload | UnclaimedUpload): TusState {
  if (!('spec' in upload)) return upload;
  const { answer, spec } = upload;
  return {
    offset: upload.offset,
    expiresAt: upload.expiresAt,
    length: upload.length,
    metadata: spec.metadata,
    answer,
    build: answer && spec.build ? { outcome: upload.build?.outcome } : undefined,
  };
}

/** An upload known from its record: unclaimed (nothing received), or stored on its owner (`outcome`: its build step as reported). */
export function recordState(record: UploadRecord, end?: Extract<RecordEnd, { answer: unknown }>, outcome?: BuildOutcome): TusState {
  const { spec } = record;
  if (!end) return { offset: 0, expiresAt: record.expiresAt, length: spec.length, metadata: spec.metadata };
  return {
    offset: end.offset,
    expiresAt: end.expiresAt,
    length: spec.length ?? end.offset,
    metadata: spec.metadata,
    answer: end.answer,
    build: spec.build ? { outcome } : undefined,
  };
}
