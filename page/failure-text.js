// What a person reads when the bridge refuses an upload: a plain headline chosen by the error's
// ErrorInfo reason (every error body carries details[0].reason), then the bridge's own message,
// which says what to do.

const HEADLINES = {
  NOT_AN_ARCHIVE: 'This is not a .tar.gz or .zip archive.',
  ARCHIVE_CORRUPT: 'This archive is damaged: it could not be read to its end.',
  NOT_A_TAR: 'This .gz file does not hold a tar archive of a folder.',
  EMPTY_ARCHIVE: 'This archive has no files in it.',
  EMPTY_BODY: 'This file is empty.',
  CONTEXT_TOO_LARGE: 'This build context is larger than this bridge accepts.',
  UNAUTHENTICATED: 'The bearer token is missing or was not accepted.',
  RESUMABLE_UPLOADS_FULL: 'The bridge is busy with other uploads: try again in a minute.',
  OVER_CAPACITY: 'The bridge is busy with other uploads: try again in a minute.',
  SHUTTING_DOWN: 'The bridge is restarting: try again in a few seconds.',
  SIZE_MISMATCH: 'The file changed or was cut short while it was sent.',
  DIGEST_MISMATCH: 'The file changed or was cut short while it was sent.',
  UPLOAD_IDLE_TIMEOUT: 'The upload stalled: no bytes arrived for too long.',
  PATCH_IDLE_TIMEOUT: 'The upload stalled: no bytes arrived for too long.',
  INVALID_NAME: 'The name cannot be used.',
  INVALID_BUILD: 'The build name or tags cannot be used.',
};

/** { reason, message } from a JSON error body, or {} when something else answered (a proxy, a crash). */
function parseError(text) {
  try {
    const body = JSON.parse(text);
    const reason = body && Array.isArray(body.details) && body.details[0] && body.details[0].reason;
    return { reason: typeof reason === 'string' ? reason : undefined, message: body && typeof body.message === 'string' ? body.message : undefined };
  } catch {
    return {};
  }
}

/** { headline, detail } for a refused upload: HTTP status, status text, response body. */
export function describeFailure(statusCode, statusText, text) {
  const { reason, message } = parseError(text);
  const headline = HEADLINES[reason]
    || (statusCode === 401 || statusCode === 403 ? HEADLINES.UNAUTHENTICATED : undefined)
    || (statusCode === 413 ? HEADLINES.CONTEXT_TOO_LARGE : undefined)
    || (statusCode >= 500 ? 'The upload bridge or Ignite failed; nothing was stored.' : 'The upload was refused; nothing was stored.');
  const detail = message || `The answer was HTTP ${statusCode} ${statusText || ''}`.trim();
  return { headline, detail };
}
