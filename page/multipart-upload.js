// One multipart POST with XHR (fetch has no upload progress): what the page does when the bridge has
// resumable uploads off.
import { describeFailure } from './failure-text.js';
import { showProgress, setStatus } from './view.js';

/** build: { name, tags } or undefined. outcome: { succeed(answer), fail(message or { headline, detail }), stopped(message) }. */
export function startMultipart({ file, name, token, build, outcome }) {
  // Fields before the file: the bridge reads the form as a stream and needs them first.
  const body = new FormData();
  body.append('name', name);
  body.append('expectedSizeBytes', String(file.size));
  if (build) {
    body.append('build', build.name);
    body.append('tags', build.tags.join(','));
  }
  body.append('file', file, file.name);

  const request = new XMLHttpRequest();
  request.open('POST', 'v1/ignite/contexts');
  if (token) request.setRequestHeader('Authorization', `Bearer ${token}`);

  // The totals are request-body bytes: the archive plus a few hundred bytes of form framing.
  let bodySize = file.size;
  request.upload.addEventListener('progress', (e) => {
    if (!e.lengthComputable) return;
    bodySize = e.total;
    showProgress(e.loaded, e.total);
  });
  request.upload.addEventListener('load', () => {
    showProgress(bodySize, bodySize, true);
    setStatus('Sent; waiting for Ignite to confirm…');
  });
  request.addEventListener('load', () => {
    let answer = null;
    try { answer = JSON.parse(request.responseText); } catch { /* reported below */ }
    if (request.status === 200 && answer && typeof answer.contextId === 'string') {
      answer.buildId = request.getResponseHeader('Ignite-Build-Id') || undefined;
      return outcome.succeed(answer);
    }
    // 424: the context is stored, only the build did not start.
    const contextId = request.getResponseHeader('Ignite-Context-Id');
    if (request.status === 424 && contextId) {
      const reason = answer && answer.details && answer.details[0] && answer.details[0].reason;
      const message = answer && typeof answer.message === 'string' ? answer.message : undefined;
      return outcome.succeed({ contextId, sizeBytes: String(file.size), buildError: reason || 'BUILD_NOT_STARTED', message });
    }
    outcome.fail(describeFailure(request.status, request.statusText, request.responseText));
  });
  request.addEventListener('abort', () => outcome.stopped('Upload cancelled: nothing was stored.'));
  request.addEventListener('error', () => {
    outcome.fail('The connection to the upload bridge failed before it answered. Check your network and try again.');
  });
  return { start: () => request.send(body), cancel: () => request.abort() };
}
