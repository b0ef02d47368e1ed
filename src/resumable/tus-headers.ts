import type { BuildOutcome } from '../builds/create-build.js';
import type { UnclaimedUpload } from './upload-store.js';
import type { Answer, ResumableUpload } from './resumable-upload.js';
import type { UploadRecord, RecordEnd } from './resumable-records.js';
import { buildStateHeaders } from './resumable-build.js';
import { httpDate } from './tus-protocol.js';

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
