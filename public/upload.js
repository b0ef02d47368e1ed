// The browser upload page. With resumable uploads on (the server says so in
// data-upload-mode), tus-js-client sends the file to /v1/ignite/uploads and
// resumes it after a dropped connection; otherwise one multipart POST with XHR
// (fetch has no upload progress).
/* global tus -- tus-js-client's browser build (ui/tus.min.js), loaded before this script when resumable */
'use strict';

(() => {
  const TOKEN_KEY = 'ignite-upload-bridge.token';
  // A few quick retries for a blip, then slower ones for a flaky network; offline waits for `online`.
  const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
  const $ = (id) => document.getElementById(id);
  const form = $('upload-form');
  const fileInput = $('file');
  const drop = $('drop');
  const nameInput = $('name');
  const tokenInput = $('token');
  const uploadButton = $('upload');
  const pauseButton = $('pause');
  const cancelButton = $('cancel');
  const progressSection = $('progress-section');
  const progress = $('progress');
  const status = $('status');
  const errorBox = $('error');
  const result = $('result');
  const apiUrl = document.body.dataset.apiUrl || 'https://api.dev.dodil.io';
  const resumable = document.body.dataset.uploadMode === 'resumable' && typeof tus !== 'undefined' && tus.isSupported;

  let file = null;
  /** The upload in progress: { start(), cancel(), toggle?(), online?() }, or null. */
  let job = null;

  if (resumable) {
    pauseButton.hidden = false;
    $('resumable-note').hidden = false;
  }

  // The token stays in this tab's sessionStorage: never in the URL, never in localStorage.
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || '';
  tokenInput.addEventListener('input', () => {
    const token = tokenInput.value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  });

  function formatBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  }

  function choose(picked) {
    file = picked || null;
    $('file-choice').textContent = file ? file.name : 'Choose a file or drop it here';
    $('file-size').textContent = file ? formatBytes(file.size) : 'a .tar.gz or .zip of the build context';
    nameInput.placeholder = file ? file.name : '';
    clearMessages();
  }

  fileInput.addEventListener('change', () => choose(fileInput.files[0]));

  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    const dropped = event.dataTransfer && event.dataTransfer.files;
    if (!dropped || dropped.length === 0 || job) return;
    fileInput.files = dropped;
    choose(dropped[0]);
  });

  function clearMessages() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    result.hidden = true;
    status.textContent = '';
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function setBusy(busy) {
    uploadButton.disabled = busy;
    cancelButton.disabled = !busy;
    pauseButton.disabled = !busy;
    pauseButton.textContent = 'Pause';
    fileInput.disabled = busy;
    nameInput.disabled = busy;
    tokenInput.disabled = busy;
  }

  // Speed over the last few seconds, so pauses and resumes do not skew it.
  let samples = [];
  function showProgress(loaded, total, done = false) {
    const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0;
    progress.value = percent;
    $('percent').textContent = `${percent}%`;
    $('sent').textContent = `${formatBytes(loaded)} of ${formatBytes(total)}`;
    const now = performance.now();
    samples.push({ at: now, loaded });
    while (samples.length > 2 && now - samples[1].at > 3000) samples.shift();
    const first = samples[0];
    const seconds = (now - first.at) / 1000;
    // Early samples over a few milliseconds would show absurd rates.
    const shown = loaded >= first.loaded && (seconds > 0.25 || (done && seconds > 0));
    $('speed').textContent = shown ? `${formatBytes((loaded - first.loaded) / seconds)}/s` : '';
  }

  function restartSpeed() {
    samples = [];
    $('speed').textContent = '';
  }

  /** The JSON error's message, or a plain description when something else answered (a proxy, a crash). */
  function errorMessage(statusCode, statusText, text) {
    try {
      const body = JSON.parse(text);
      if (body && typeof body.message === 'string') return body.message;
    } catch { /* not our JSON */ }
    return `The upload failed with HTTP ${statusCode} ${statusText || ''}`.trim();
  }

  const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

  function buildName(contextName) {
    const base = contextName.replace(/\.(tar\.gz|tgz|tar|gz|zip)$/i, '').toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    return base || 'my-app';
  }

  function showResult(answer, contextName) {
    $('context-id').textContent = answer.contextId;
    $('size').textContent = `${formatBytes(Number(answer.sizeBytes))} (${answer.sizeBytes} bytes) stored as "${contextName}".`;
    const payload = JSON.stringify({ name: buildName(contextName), tags: ['latest'], contextId: answer.contextId });
    $('build-command').textContent = [
      `curl -X POST ${shellQuote(`${apiUrl}/v1/ignite/builds`)} \\`,
      '  -H "Authorization: Bearer $IGNITE_TOKEN" \\',
      "  -H 'Content-Type: application/json' \\",
      `  -d ${shellQuote(payload)}`,
    ].join('\n');
    result.hidden = false;
  }

  function finish() {
    job = null;
    setBusy(false);
  }

  function succeed(answer, name) {
    finish();
    status.textContent = 'Upload complete.';
    showResult(answer, name);
  }

  function fail(message) {
    finish();
    status.textContent = 'Upload failed.';
    showError(message);
  }

  /** One multipart POST: what the page does when the bridge has resumable uploads off. */
  function startMultipart(name, token) {
    // Fields before the file: the bridge reads the form as a stream and needs them first.
    const body = new FormData();
    body.append('name', name);
    body.append('expectedSizeBytes', String(file.size));
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
      status.textContent = 'Sent; waiting for Ignite to confirm…';
    });
    request.addEventListener('load', () => {
      if (request.status === 200) {
        let answer = null;
        try { answer = JSON.parse(request.responseText); } catch { /* reported below */ }
        if (answer && typeof answer.contextId === 'string') return succeed(answer, name);
      }
      fail(errorMessage(request.status, request.statusText, request.responseText));
    });
    request.addEventListener('abort', () => {
      finish();
      status.textContent = 'Upload cancelled: nothing was stored.';
    });
    request.addEventListener('error', () => {
      fail('The connection to the upload bridge failed before it answered. Check your network and try again.');
    });
    return { start: () => request.send(body), cancel: () => request.abort() };
  }

  /**
   * A tus upload: the bridge keeps its upstream call open between requests, so
   * a dropped connection resumes at the offset the bridge reports.
   */
  function startResumable(name, token) {
    let state = 'uploading'; // or 'paused', 'offline', 'cancelling'
    const upload = new tus.Upload(file, {
      // tus-js-client resolves the upload's Location against the endpoint: it must be absolute.
      endpoint: new URL('v1/ignite/uploads', document.baseURI).href,
      metadata: { filename: name },
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      retryDelays: RETRY_DELAYS,
      // The upload URL is a capability: keep it out of localStorage (a reload starts again).
      storeFingerprintForResuming: false,
      onProgress: (sent, total) => {
        if (state !== 'uploading') return;
        showProgress(sent, total);
        if (sent === total) status.textContent = 'Sent; waiting for Ignite to confirm…';
      },
      // The final PATCH's answer, or a HEAD's when that answer was lost: both carry the id in headers.
      onSuccess: ({ lastResponse }) => {
        const contextId = lastResponse.getHeader('Ignite-Context-Id');
        const sizeBytes = lastResponse.getHeader('Ignite-Size-Bytes');
        showProgress(file.size, file.size, true);
        if (contextId) return succeed({ contextId, sizeBytes: sizeBytes || String(file.size) }, name);
        fail('The upload finished, but the bridge\'s answer carried no contextId.');
      },
      onError: (err) => {
        const response = err.originalResponse;
        if (response && response.getStatus() > 0) {
          return fail(errorMessage(response.getStatus(), '', response.getBody()));
        }
        if (!navigator.onLine) {
          // tus-js-client does not retry while offline: the `online` handler resumes.
          state = 'offline';
          status.textContent = 'Offline: the upload resumes when the network is back.';
          return;
        }
        // Out of retries: the bridge keeps the upload for a while, so it can still resume.
        state = 'paused';
        pauseButton.textContent = 'Resume';
        status.textContent = 'Upload interrupted.';
        showError('The connection to the upload bridge keeps failing. Check your network, then press Resume to continue where it stopped.');
      },
    });

    function restart(message) {
      state = 'uploading';
      errorBox.hidden = true;
      pauseButton.textContent = 'Pause';
      status.textContent = message;
      restartSpeed();
      upload.start();
    }

    return {
      start: () => upload.start(),
      toggle() {
        if (state === 'paused' || state === 'offline') {
          restart(`Resuming ${name}…`);
        } else if (state === 'uploading') {
          // The bridge sees the request end and pauses the upload, keeping every byte it received.
          state = 'paused';
          upload.abort();
          pauseButton.textContent = 'Resume';
          status.textContent = `Paused at ${progress.value}%.`;
          $('speed').textContent = '';
        }
      },
      // A request cut while offline may hang instead of failing: start over from the bridge's offset.
      online() {
        if (state !== 'uploading' && state !== 'offline') return;
        upload.abort();
        restart(`Back online: resuming ${name}…`);
      },
      cancel() {
        if (state === 'cancelling') return;
        state = 'cancelling';
        pauseButton.disabled = true;
        cancelButton.disabled = true;
        status.textContent = 'Cancelling…';
        // abort(true) also sends DELETE: the bridge resets the upstream call, which stores nothing.
        upload.abort(true).then(() => {
          finish();
          status.textContent = 'Upload cancelled: nothing was stored.';
        }, (err) => {
          const code = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
          if (code === 409) {
            // Every byte had arrived: the outcome is the upstream's; a resume reads the answer.
            restart('Too late to cancel: every byte was sent. Waiting for Ignite to confirm…');
            return;
          }
          finish();
          status.textContent = 'Upload stopped.';
          showError('The bridge could not be told to drop the upload; it drops it by itself when it expires, and nothing is stored before an upload is complete.');
        });
      },
    };
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (job) return;
    clearMessages();
    if (!file) {
      showError('Choose an archive first (a .tar.gz or .zip of your build context).');
      fileInput.focus();
      return;
    }
    const name = nameInput.value.trim() || file.name;
    const token = tokenInput.value.trim();
    progressSection.hidden = false;
    restartSpeed();
    showProgress(0, file.size);
    status.textContent = `Uploading ${name}…`;
    setBusy(true);
    job = resumable ? startResumable(name, token) : startMultipart(name, token);
    job.start();
  });

  pauseButton.addEventListener('click', () => {
    if (job && job.toggle) job.toggle();
  });

  cancelButton.addEventListener('click', () => {
    if (job) job.cancel();
  });

  window.addEventListener('online', () => {
    if (job && job.online) job.online();
  });
  window.addEventListener('offline', () => {
    if (job && job.online) status.textContent = 'Offline: the upload resumes when the network is back.';
  });

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain-http pages on other hosts have no clipboard API: fall back to a selection copy.
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.className = 'visually-hidden';
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  for (const button of document.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', () => copy($(button.dataset.copy).textContent, button));
  }
})();
