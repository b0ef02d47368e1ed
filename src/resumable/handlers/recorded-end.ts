import type { BuildOutcome } from '../../builds/create-build.js';
import { BridgeError, Errors, GrpcCode } from '../../errors.js';
import type { RecordEnd } from '../resumable-records.js';
import { reportedOutcome } from '../resumable-build.js';
import type { Answer } from '../resumable-upload.js';
import { recordState, type TusState } from '../tus-protocol.js';
import type { Ended, TusMethod } from '../upload-store.js';

/** A stored context as its record keeps it: its headers, its answer, and its build step as reported (undefined: none, or pending). */
export interface RecordedContext {
  state: TusState;
  answer: Answer;
  outcome: BuildOutcome | undefined;
}

/**
 * An upload that ended on its owner, as every replica answers for it: its
 * stored context, or, thrown, what the request is told (`refusalOf`).
 */
export function recordedContext(found: Ended, method: 'HEAD' | 'PATCH'): RecordedContext {
  const { record, end, ownerStopped } = found;
  if (!('answer' in end)) throw refusalOf(end, method)!;
  const outcome = record.spec.build ? reportedOutcome(record.build, ownerStopped) : undefined;
  return { state: recordState(record, end, outcome), answer: end.answer, outcome };
}

/**
 * What a request for an ended upload is told, unless it reads a stored
 * context: terminated 404, gone 410, an unknown outcome 423; a DELETE once
 * every byte was sent 409.
 */
export function refusalOf(end: RecordEnd, method: TusMethod): BridgeError | undefined {
  if ('terminated' in end) return Errors.uploadNotFound();
  if ('gone' in end) return new BridgeError(end.gone.code, end.gone.message, 410, GrpcCode.NOT_FOUND);
  if (method === 'DELETE') return Errors.deleteAfterHalfClose();
  if ('unknown' in end) {
    const template = Errors.uploadOutcomeUnknown('');
    return new BridgeError(template.code, end.unknown.message, template.httpStatus, template.grpcCode, template.headers);
  }
  return undefined;
}
