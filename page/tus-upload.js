// A tus upload (tus-js-client's browser build, ui/tus.min.js, defines the global `tus`): the bridge
// keeps its upstream call open between requests, so a dropped connection resumes at the offset the
// bridge reports. The source is an archive (a File) or a folder packed while it uploads (a stream).
/* global tus */
import { describeFailure } from './failure-text.js';
import { el, hideError, restartSpeed, setStatus } from './view.js';

// A few quick retries for a blip, then slower ones for a flaky network; offline waits for `online`.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
// A stream cannot start over: how many times a folder is packed again before the page gives up.
const MAX_REPACKS = 3;

const isClientError = (status) => status >= 400 && status < 500;

/** The answer the bridge puts in headers (the final PATCH's, or a HEAD's when that answer was lost). */
function storedAnswer(response) {
  const header = (name) => response.getHeader(name) || undefined;
  const answer = {
    contextId: header('Ignite-Context-Id'),
    sizeBytes: header('Ignite-Size-Bytes'),
    buildId: header('Ignite-Build-Id'),
    buildState: header('Ignite-Build-State'),
    buildError: header('Ignite-Build-Error'),
  };
  try {
    const body = JSON.parse(response.getBody());
    if (body && typeof body === 'object') {
      answer.sizeBytes ??= body.sizeBytes;
      if (body.build && typeof body.build === 'object') answer.build = body.build;
      const reason = body.details && body.details[0] && body.details[0].reason;
      if (reason && !answer.buildError) answer.buildError = reason;
      if (typeof body.message === 'string') answer.message = body.message;
    }
  } catch { /* a HEAD or a 204 has no body */ }
  return answer;
}

/**
 * source: { total, open() → { input, options, close() }, progress(sent), finalRequest?(), repackable }.
 * metadata: tus Upload-Metadata (filename, and build and tags when asked).
 * outcome: { succeed(answer), fail(message), stopped(message) }.
 */
export function startResumable({ name, token, metadata, source, outcome }) {
  let state = 'uploading'; // or 'paused', 'offline', 'cancelling', 'repacking'
  let repacks = 0;
  let upload;
  let opened;
  let gone = false;

  function create() {
    gone = false;
    opened = source.open();
    upload = new tus.Upload(opened.input, {
      // tus-js-client resolves the upload's Location against the endpoint: it must be absolute.
      endpoint: new URL('v1/ignite/uploads', document.baseURI).href,
      metadata,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      retryDelays: RETRY_DELAYS,
      // The upload URL is a capability: keep it out of localStorage (a reload starts again).
      storeFingerprintForResuming: false,
      ...opened.options,
      onBeforeRequest: (req) => {
        // The upload is gone: a new one could not be fed from a stream that moved on (see onError).
        if (gone && req.getMethod() === 'POST') throw new Error('the upload is gone');
        if (req.getMethod() === 'PATCH' && req.getHeader('Upload-Length') && source.finalRequest) source.finalRequest();
      },
      onAfterResponse: (req, res) => {
        if (source.repackable && req.getMethod() === 'HEAD' && [404, 410].includes(res.getStatus())) gone = true;
      },
      onShouldRetry: (err) => {
        if (gone) return false;
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        return (!isClientError(status) || status === 409 || status === 423) && navigator.onLine;
      },
      onProgress: (sent, total) => {
        if (state === 'uploading') source.progress(sent, total);
      },
      onSuccess: ({ lastResponse }) => {
        const answer = storedAnswer(lastResponse);
        if (!answer.contextId) return outcome.fail('The upload finished, but the bridge\'s answer carried no contextId.');
        answer.sizeBytes ??= String(source.total);
        outcome.succeed(answer);
      },
      onError,
    });
  }

  function onError(err) {
    const response = err.originalResponse;
    const status = response ? response.getStatus() : 0;
    if (source.repackable && (gone || status === 404 || status === 410)) return repack();
    if (status > 0) {
      const answer = storedAnswer(response);
      // 424: the context is stored, only the build did not start; the page shows both.
      if (status === 424 && answer.contextId) return outcome.succeed(answer);
      return outcome.fail(describeFailure(status, '', response.getBody()));
    }
    if (!navigator.onLine) {
      // tus-js-client does not retry while offline: the `online` handler resumes.
      state = 'offline';
      setStatus('Offline: the upload resumes when the network is back.');
      return;
    }
    // Out of retries: the bridge keeps the upload for a while, so it can still resume.
    state = 'paused';
    el.pauseButton.textContent = 'Resume';
    setStatus('Upload interrupted.');
    outcome.interrupted('The connection to the upload bridge keeps failing. Check your network, then press Resume to continue where it stopped.');
  }

  /** The bridge lost the upload (expired, reset): drop what tus-js-client may have created, pack again. */
  function repack() {
    if (repacks >= MAX_REPACKS) return outcome.fail('The bridge keeps losing this upload; nothing was stored. Try again later.');
    repacks += 1;
    state = 'repacking';
    opened.close();
    const orphan = upload.url;
    const dropped = orphan ? upload.abort(true).catch(() => undefined) : upload.abort();
    setStatus(`The bridge no longer has this upload (it expired or was reset), so ${name} is packed again from the first file into a new upload.`);
    restartSpeed();
    void dropped.then(() => {
      if (state !== 'repacking') return;
      state = 'uploading';
      create();
      upload.start();
    });
  }

  function restart(message) {
    state = 'uploading';
    hideError();
    el.pauseButton.textContent = 'Pause';
    setStatus(message);
    restartSpeed();
    upload.start();
  }

  create();
  return {
    start: () => upload.start(),
    toggle() {
      if (state === 'paused' || state === 'offline') {
        restart(`Resuming ${name}…`);
      } else if (state === 'uploading') {
        // The bridge sees the request end and pauses the upload, keeping every byte it received.
        state = 'paused';
        void upload.abort();
        el.pauseButton.textContent = 'Resume';
        setStatus(`Paused at ${el.progress.value}%.`);
        restartSpeed();
      }
    },
    // A request cut while offline may hang instead of failing: start over from the bridge's offset.
    online() {
      if (state !== 'uploading' && state !== 'offline') return;
      void upload.abort();
      restart(`Back online: resuming ${name}…`);
    },
    cancel() {
      if (state === 'cancelling') return;
      state = 'cancelling';
      el.pauseButton.disabled = true;
      el.cancelButton.disabled = true;
      setStatus('Cancelling…');
      // abort(true) also sends DELETE: the bridge resets the upstream call, which stores nothing.
      upload.abort(true).then(() => {
        opened.close();
        outcome.stopped('Upload cancelled: nothing was stored.');
      }, (err) => {
        const code = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (code === 409) {
          // Every byte had arrived: the outcome is the upstream's; a resume reads the answer.
          restart('Too late to cancel: every byte was sent. Waiting for Ignite to confirm…');
          return;
        }
        opened.close();
        outcome.stopped('Upload stopped.', 'The bridge could not be told to drop the upload; it drops it by itself when it expires, and nothing is stored before an upload is complete.');
      });
    },
  };
}
