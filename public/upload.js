// The browser upload page: multipart POST with XHR (fetch has no upload progress).
'use strict';

(() => {
  const TOKEN_KEY = 'ignite-upload-bridge.token';
  const $ = (id) => document.getElementById(id);
  const form = $('upload-form');
  const fileInput = $('file');
  const drop = $('drop');
  const nameInput = $('name');
  const tokenInput = $('token');
  const uploadButton = $('upload');
  const cancelButton = $('cancel');
  const progressSection = $('progress-section');
  const progress = $('progress');
  const status = $('status');
  const errorBox = $('error');
  const result = $('result');
  const apiUrl = document.body.dataset.apiUrl || 'https://api.dev.dodil.io';

  let file = null;
  let xhr = null;

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
    if (!dropped || dropped.length === 0 || xhr) return;
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
    fileInput.disabled = busy;
    nameInput.disabled = busy;
    tokenInput.disabled = busy;
  }

  function showProgress(loaded, total, startedAt, done = false) {
    const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0;
    progress.value = percent;
    $('percent').textContent = `${percent}%`;
    $('sent').textContent = `${formatBytes(loaded)} of ${formatBytes(total)}`;
    const seconds = (performance.now() - startedAt) / 1000;
    // Early samples over a few milliseconds would show absurd rates.
    $('speed').textContent = (seconds > 0.25 || (done && seconds > 0)) ? `${formatBytes(loaded / seconds)}/s` : '';
  }

  /** The JSON error's message, or a plain description when something else answered (a proxy, a crash). */
  function errorMessage(request) {
    try {
      const body = JSON.parse(request.responseText);
      if (body && typeof body.message === 'string') return body.message;
    } catch { /* not our JSON */ }
    return `The upload failed with HTTP ${request.status} ${request.statusText || ''}`.trim();
  }

  const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

  function buildName(contextName) {
    const base = contextName.replace(/\.(tar\.gz|tgz|tar|gz|zip)$/i, '').toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    return base || 'my-app';
  }

  function showResult(body, contextName) {
    $('context-id').textContent = body.contextId;
    $('size').textContent = `${formatBytes(Number(body.sizeBytes))} (${body.sizeBytes} bytes) stored as "${contextName}".`;
    const payload = JSON.stringify({ name: buildName(contextName), tags: ['latest'], contextId: body.contextId });
    $('build-command').textContent = [
      `curl -X POST ${shellQuote(`${apiUrl}/v1/ignite/builds`)} \\`,
      '  -H "Authorization: Bearer $IGNITE_TOKEN" \\',
      "  -H 'Content-Type: application/json' \\",
      `  -d ${shellQuote(payload)}`,
    ].join('\n');
    result.hidden = false;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (xhr) return;
    clearMessages();
    if (!file) {
      showError('Choose an archive first (a .tar.gz or .zip of your build context).');
      fileInput.focus();
      return;
    }
    const name = nameInput.value.trim() || file.name;
    const token = tokenInput.value.trim();

    // Fields before the file: the bridge reads the form as a stream and needs them first.
    const body = new FormData();
    body.append('name', name);
    body.append('expectedSizeBytes', String(file.size));
    body.append('file', file, file.name);

    const request = new XMLHttpRequest();
    xhr = request;
    request.open('POST', 'v1/ignite/contexts');
    if (token) request.setRequestHeader('Authorization', `Bearer ${token}`);
    const startedAt = performance.now();
    progressSection.hidden = false;
    showProgress(0, file.size, startedAt);
    status.textContent = `Uploading ${name}…`;
    setBusy(true);

    // The totals are request-body bytes: the archive plus a few hundred bytes of form framing.
    let bodySize = file.size;
    request.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      bodySize = e.total;
      showProgress(e.loaded, e.total, startedAt);
    });
    request.upload.addEventListener('load', () => {
      showProgress(bodySize, bodySize, startedAt, true);
      status.textContent = 'Sent; waiting for Ignite to confirm…';
    });

    const finish = () => {
      xhr = null;
      setBusy(false);
    };
    request.addEventListener('load', () => {
      finish();
      if (request.status === 200) {
        let answer = null;
        try { answer = JSON.parse(request.responseText); } catch { /* reported below */ }
        if (answer && typeof answer.contextId === 'string') {
          status.textContent = 'Upload complete.';
          showResult(answer, name);
          return;
        }
      }
      status.textContent = 'Upload failed.';
      showError(errorMessage(request));
    });
    request.addEventListener('abort', () => {
      finish();
      status.textContent = 'Upload cancelled: nothing was stored.';
    });
    request.addEventListener('error', () => {
      finish();
      status.textContent = 'Upload failed.';
      showError('The connection to the upload bridge failed before it answered. Check your network and try again.');
    });
    request.send(body);
  });

  cancelButton.addEventListener('click', () => {
    if (xhr) xhr.abort();
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
