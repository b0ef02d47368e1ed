// What the page shows once the context is stored: its id and size, then the build it started or
// the CreateBuild command to start one.
import { $, el, formatBytes } from './view.js';

const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A build name from an archive's or folder's name: "My App.tar.gz" → "my-app". */
export function buildName(contextName) {
  const base = contextName.replace(/\.(tar\.gz|tgz|tar|gz|zip)$/i, '').toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return base || 'my-app';
}

/** What the page says when the context is stored and its build did not start (or may not have). */
function notStartedText(answer) {
  // The bridge's message names the stored context and the API's own words (a 424's body).
  const why = answer.message ? ` ${answer.message}` : '';
  if (answer.buildState === 'pending') return 'The bridge is still starting the build (CreateBuild has not answered yet): do not start another.';
  if (answer.buildError === 'BUILD_OUTCOME_UNKNOWN') {
    return `Whether the build started is unknown (BUILD_OUTCOME_UNKNOWN): it may exist. Look for a build of ${answer.contextId} before starting one.${why}`;
  }
  if (answer.buildError) return `The build did not start (${answer.buildError}): start it with the command below.${why}`;
  return 'The bridge started no build: start it with the command below.';
}

/**
 * answer: { contextId, sizeBytes, build?: the API's JSON, buildId?, buildState?, buildError?, message? }.
 * requested: { name, tags } when the page asked for a build.
 */
export function showResult(answer, contextName, requested, apiUrl) {
  $('context-id').textContent = answer.contextId;
  $('size').textContent = `${formatBytes(Number(answer.sizeBytes))} (${answer.sizeBytes} bytes) stored as "${contextName}".`;
  const buildId = answer.buildId || (answer.build && (answer.build.id || answer.build.buildId));
  const started = $('build-started');
  started.hidden = !buildId;
  if (buildId) {
    const state = answer.buildState || (answer.build && answer.build.state) || '';
    $('build-id').textContent = buildId;
    $('build-state').textContent = state ? `(${state})` : '';
  }
  const notStarted = $('build-not-started');
  notStarted.hidden = !(requested && !buildId);
  if (requested && !buildId) notStarted.textContent = notStartedText(answer);
  $('build-manual').hidden = Boolean(buildId);
  const payload = JSON.stringify({
    name: requested ? requested.name : buildName(contextName),
    tags: requested ? requested.tags : ['latest'],
    contextId: answer.contextId,
  });
  $('build-command').textContent = [
    `curl -X POST ${shellQuote(`${apiUrl}/v1/ignite/builds`)} \\`,
    '  -H "Authorization: Bearer $IGNITE_TOKEN" \\',
    "  -H 'Content-Type: application/json' \\",
    `  -d ${shellQuote(payload)}`,
  ].join('\n');
  el.result.hidden = false;
}
