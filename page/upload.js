// The browser upload page. With resumable uploads on (the server says so in data-upload-mode),
// tus-js-client sends an archive, or a folder packed as tar.gz while it uploads, to
// /v1/ignite/uploads and resumes after a dropped connection; otherwise one multipart POST.
/* global tus -- tus-js-client's browser build (ui/tus.min.js), loaded before this script when resumable */
import { droppedDirectory, readChosenFolder, readDroppedFolder } from './folder-read.js';
import { planFolder } from './folder-plan.js';
import { packFolder } from './folder-pack.js';
import { startMultipart } from './multipart-upload.js';
import { buildName, showResult } from './result.js';
import { startResumable } from './tus-upload.js';
import { $, clearMessages, el, endProgress, formatBytes, restartSpeed, setStatus, showError, showProgress } from './view.js';

const TOKEN_KEY = 'ignite-upload-bridge.token';
// The tus chunk of a folder upload: what the page holds (a few of them) and what a cut may re-send.
const FOLDER_CHUNK_BYTES = 4 * 1024 * 1024;
const apiUrl = document.body.dataset.apiUrl || 'https://api.dev.dodil.io';
const resumable = document.body.dataset.uploadMode === 'resumable' && typeof tus !== 'undefined' && tus.isSupported;
// Without IGNITE_API_URL the bridge refuses uploads that ask for a build: the page offers none.
const builds = document.body.dataset.builds === 'on';

/** { kind: 'archive', file } or { kind: 'folder', plan }, or null. */
let chosen = null;
/** The upload in progress: { start(), cancel(), toggle?(), online?() }, or null. */
let job = null;
/** The chosen archive or folder is stored: Upload stays away until "Upload another" or a new choice. */
let stored = false;

if (resumable) {
  el.pauseButton.hidden = false;
  $('resumable-note').hidden = false;
  // A folder is packed while it uploads, which needs a stream the bridge can take in pieces: tus.
  for (const part of document.querySelectorAll('[data-folder-only]')) part.hidden = false;
}

$('build-options').hidden = !builds;

// The token stays in this tab's sessionStorage: never in the URL, never in localStorage.
el.tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || '';
el.tokenInput.addEventListener('input', () => {
  const token = el.tokenInput.value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
});

const chosenName = () => (chosen ? (chosen.kind === 'archive' ? chosen.file.name : `${chosen.plan.name}.tar.gz`) : '');

/** Back to choosing: Upload instead of "Upload another". */
function ready() {
  stored = false;
  el.anotherButton.hidden = true;
  el.uploadButton.hidden = false;
}

function showChoice(label, detail) {
  $('file-choice').textContent = label;
  $('file-size').textContent = detail;
  el.nameInput.placeholder = chosenName();
  el.buildName.placeholder = chosen ? buildName(chosen.kind === 'archive' ? chosen.file.name : chosen.plan.name) : '';
}

function chooseArchive(file) {
  ready();
  chosen = file ? { kind: 'archive', file } : null;
  el.summary.hidden = true;
  clearMessages();
  if (file) showChoice(file.name, formatBytes(file.size));
  else showChoice('Choose a file or drop it here', 'a .tar.gz or .zip of the build context');
}

function summarize(plan) {
  const scripts = plan.scripts ? `; ${plan.scripts} starting with #! packed executable (0755)` : '';
  const skipped = plan.skippedFiles
    ? `${plan.skippedFiles} files (${formatBytes(plan.skippedBytes)}) skipped by ${plan.usesDockerignore ? '.dockerignore' : 'the default rule (.git/)'}.`
    : 'Nothing skipped.';
  return `${plan.files} files (${formatBytes(plan.bytes)}) to pack${scripts}. ${skipped}`;
}

async function chooseFolder(read) {
  ready();
  chosen = null;
  clearMessages();
  el.uploadButton.disabled = true;
  setStatus('Reading the folder…');
  try {
    const plan = await planFolder(await read());
    chosen = { kind: 'folder', plan };
    showChoice(`${plan.name}/`, `a folder, packed as ${plan.name}.tar.gz while it uploads`);
    el.summary.textContent = summarize(plan);
    el.summary.hidden = false;
    setStatus('');
    if (plan.files === 0) showError('This folder has nothing to pack.');
  } catch (err) {
    setStatus('');
    showError(`The folder could not be read: ${err && err.message ? err.message : err}`);
  } finally {
    el.uploadButton.disabled = false;
  }
}

el.fileInput.addEventListener('change', () => chooseArchive(el.fileInput.files[0]));
el.folderInput.addEventListener('change', () => {
  const folder = readChosenFolder(el.folderInput.files);
  if (folder) void chooseFolder(async () => folder);
});

el.drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  el.drop.classList.add('dragging');
});
el.drop.addEventListener('dragleave', () => el.drop.classList.remove('dragging'));
el.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  el.drop.classList.remove('dragging');
  if (job || !event.dataTransfer) return;
  const directory = resumable ? droppedDirectory(event.dataTransfer) : undefined;
  if (directory) return void chooseFolder(() => readDroppedFolder(directory));
  const dropped = event.dataTransfer.files;
  if (!dropped || dropped.length === 0) return;
  el.fileInput.files = dropped;
  chooseArchive(dropped[0]);
});

function setBusy(busy) {
  el.uploadButton.disabled = busy;
  el.cancelButton.disabled = !busy;
  el.pauseButton.disabled = !busy;
  el.pauseButton.textContent = 'Pause';
  for (const input of [el.fileInput, el.folderInput, el.nameInput, el.tokenInput, el.buildBox, el.buildName, el.buildTags]) input.disabled = busy;
}

function finish() {
  job = null;
  setBusy(false);
}

function outcome(name, build) {
  return {
    succeed(answer) {
      finish();
      // The context is stored (a 424 too): pressing Upload again would store it a second time.
      stored = true;
      el.uploadButton.hidden = true;
      el.anotherButton.hidden = false;
      restartSpeed();
      const status = { BUILD_NOT_STARTED: 'Upload complete; the build did not start.', BUILD_OUTCOME_UNKNOWN: 'Upload complete; whether the build started is unknown.' };
      setStatus(status[answer.buildError] || 'Upload complete.');
      showResult(answer, name, build, apiUrl);
    },
    fail(message) {
      finish();
      endProgress('failed');
      setStatus('Upload failed.');
      showError(message);
    },
    stopped(message, error) {
      finish();
      endProgress('stopped');
      setStatus(message);
      if (error) showError(error);
    },
    interrupted: showError,
  };
}

/** An archive file as the tus source: tus-js-client slices it itself. */
function archiveSource(file) {
  return {
    total: file.size,
    repackable: false,
    open: () => ({ input: file, options: {}, close() {} }),
    progress(sent, total) {
      showProgress(sent, total);
      if (sent === total) setStatus('Sent; waiting for Ignite to confirm…');
    },
  };
}

/**
 * A folder packed while it uploads. tus reports no total for a deferred length: progress is the
 * folder's bytes packed so far against the total counted before packing.
 */
function folderSource(plan) {
  let packed = 0;
  let sent = 0;
  const show = (done) => showProgress(packed, plan.bytes, done, ` packed, ${formatBytes(sent)} compressed sent`);
  return {
    total: plan.bytes,
    repackable: true,
    open() {
      packed = 0;
      const reader = packFolder(plan, FOLDER_CHUNK_BYTES, (n) => { packed += n; }).getReader();
      return {
        input: reader,
        options: { chunkSize: FOLDER_CHUNK_BYTES, uploadLengthDeferred: true },
        close: () => reader.cancel().catch(() => undefined),
      };
    },
    progress(bytes) {
      sent = bytes;
      show(false);
    },
    finalRequest() {
      show(true);
      setStatus('Sent; waiting for Ignite to confirm…');
    },
  };
}

/** { name, tags } when "Start a build" is ticked. */
function requestedBuild(contextName) {
  if (!builds || !el.buildBox.checked) return undefined;
  const tags = el.buildTags.value.split(',').map((t) => t.trim()).filter(Boolean);
  return { name: el.buildName.value.trim() || buildName(contextName), tags: tags.length ? tags : ['latest'] };
}

el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (job || stored) return;
  clearMessages();
  if (!chosen || (chosen.kind === 'folder' && chosen.plan.files === 0)) {
    showError(resumable ? 'Choose an archive (a .tar.gz or .zip of your build context) or a folder first.' : 'Choose an archive first (a .tar.gz or .zip of your build context).');
    el.fileInput.focus();
    return;
  }
  const name = el.nameInput.value.trim() || chosenName();
  const token = el.tokenInput.value.trim();
  const build = requestedBuild(chosen.kind === 'archive' ? chosen.file.name : chosen.plan.name);
  el.progressSection.hidden = false;
  endProgress('');
  const total = chosen.kind === 'archive' ? chosen.file.size : chosen.plan.bytes;
  showProgress(0, total);
  setStatus(chosen.kind === 'archive' ? `Uploading ${name}…` : `Packing and uploading ${name}…`);
  setBusy(true);
  const metadata = { filename: name, ...(build ? { build: build.name, tags: build.tags.join(',') } : {}) };
  const result = outcome(name, build);
  if (!resumable) {
    job = startMultipart({ file: chosen.file, name, token, build, outcome: result });
  } else {
    const source = chosen.kind === 'archive' ? archiveSource(chosen.file) : folderSource(chosen.plan);
    job = startResumable({ name, token, metadata, source, outcome: result });
  }
  job.start();
});

el.anotherButton.addEventListener('click', () => {
  el.fileInput.value = '';
  el.folderInput.value = '';
  el.nameInput.value = '';
  el.summary.hidden = true;
  el.progressSection.hidden = true;
  chooseArchive(null);
  el.fileInput.focus();
});

el.pauseButton.addEventListener('click', () => {
  if (job && job.toggle) job.toggle();
});

el.cancelButton.addEventListener('click', () => {
  if (job) job.cancel();
});

window.addEventListener('online', () => {
  if (job && job.online) job.online();
});
window.addEventListener('offline', () => {
  if (job && job.online) setStatus('Offline: the upload resumes when the network is back.');
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
  button.addEventListener('click', () => void copy($(button.dataset.copy).textContent, button));
}
