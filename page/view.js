// The page's elements and how it shows progress, errors and results.

export const $ = (id) => document.getElementById(id);

export const el = {
  form: $('upload-form'),
  fileInput: $('file'),
  folderInput: $('folder'),
  drop: $('drop'),
  nameInput: $('name'),
  tokenInput: $('token'),
  buildBox: $('start-build'),
  buildName: $('build-name'),
  buildTags: $('build-tags'),
  uploadButton: $('upload'),
  anotherButton: $('upload-another'),
  pauseButton: $('pause'),
  cancelButton: $('cancel'),
  progressSection: $('progress-section'),
  progress: $('progress'),
  status: $('status'),
  errorBox: $('error'),
  result: $('result'),
  summary: $('folder-summary'),
};

export function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function setStatus(text) {
  el.status.textContent = text;
}

export function clearMessages() {
  el.errorBox.hidden = true;
  el.errorBox.textContent = '';
  el.result.hidden = true;
  setStatus('');
}

/** A sentence, or { headline, detail } for a refusal: the headline for a person, then the bridge's words. */
export function showError(message) {
  if (typeof message === 'string') {
    el.errorBox.textContent = message;
  } else {
    const headline = document.createElement('strong');
    headline.textContent = message.headline;
    const detail = document.createElement('p');
    detail.className = 'detail';
    detail.textContent = message.detail;
    el.errorBox.replaceChildren(headline, detail);
  }
  el.errorBox.hidden = false;
}

export function hideError() {
  el.errorBox.hidden = true;
}

// Speed over the last few seconds, so pauses and resumes do not skew it.
let samples = [];

/** `loaded` of `total`; `note` (e.g. the compressed bytes sent) follows the figures. */
export function showProgress(loaded, total, done = false, note = '') {
  const percent = total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 0;
  el.progress.value = percent;
  $('percent').textContent = `${percent}%`;
  $('sent').textContent = `${formatBytes(loaded)} of ${formatBytes(total)}${note}`;
  const now = performance.now();
  samples.push({ at: now, loaded });
  while (samples.length > 2 && now - samples[1].at > 3000) samples.shift();
  const first = samples[0];
  const seconds = (now - first.at) / 1000;
  // Early samples over a few milliseconds would show absurd rates.
  const shown = loaded >= first.loaded && (seconds > 0.25 || (done && seconds > 0));
  $('speed').textContent = shown ? `${formatBytes((loaded - first.loaded) / seconds)}/s` : '';
}

export function restartSpeed() {
  samples = [];
  $('speed').textContent = '';
}

/**
 * How the bar looks once the upload ended without a stored context: 'failed' empties it and turns it
 * red (a full blue bar would read as success), 'stopped' greys it where it stopped; '' is a running upload.
 */
export function endProgress(state) {
  el.progressSection.dataset.state = state;
  restartSpeed();
  if (state === 'failed') {
    el.progress.value = 0;
    $('percent').textContent = 'Failed';
  }
}
