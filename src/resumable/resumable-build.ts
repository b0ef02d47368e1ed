import { builtAnswer, type BuiltAnswer, type StoredContext } from '../builds/hand-off.js';
import type { BuildClient, BuildOutcome } from '../builds/create-build.js';
import type { BuildRequest } from '../builds/build-request.js';
import { startBuild } from '../builds/start-build.js';
import type { ResumableUpload } from './resumable-upload.js';
import type { ResumableUploads } from './resumable-uploads.js';

/**
 * The build step of a resumable upload that asked for one (`build` in its
 * Upload-Metadata): "build sent" from just before the CreateBuild call, then
 * its outcome. Kept with the upload, and in its shared record (REDIS_URL),
 * so every replica reports the same state.
 */
export interface BuildStep {
  sentAt: number;
  outcome?: BuildOutcome;
}

/**
 * Where the build step is recorded for other replicas (the shared record).
 * `markSent` must succeed before the CreateBuild call: it throws, saying why,
 * when it cannot (then no call is made, and the build did not start).
 */
export interface BuildRecorder {
  markBuildSent(upload: ResumableUpload, step: BuildStep): Promise<void>;
  /** Writes the outcome, retrying in the background while the store cannot answer. */
  recordBuild(upload: ResumableUpload, step: BuildStep): void;
}

/**
 * Starts the build of each completed upload that asked for one, once: by
 * the route after the final PATCH released its upload slot, or, when no
 * request waits for it (the final answer came late, or its client left),
 * as soon as the upload completed. The credential is the final PATCH's.
 */
export class ResumableBuilds {
  private readonly running = new WeakMap<ResumableUpload, Promise<BuildOutcome>>();

  constructor(
    private readonly client: BuildClient | undefined,
    private readonly uploads: ResumableUploads,
    private readonly recorder?: BuildRecorder,
  ) {
    // A completion no request is waiting for: the route (which starts it once its slot is released) comes first otherwise.
    uploads.onCompleted((upload) => setImmediate(() => void this.start(upload)));
  }

  /** The upload's build outcome, starting its build if it was not started yet; undefined when it asked for none. */
  start(upload: ResumableUpload): Promise<BuildOutcome> | undefined {
    if (upload.spec.build === undefined || upload.answer === undefined) return undefined;
    let running = this.running.get(upload);
    if (!running) {
      running = this.run(upload, upload.spec.build, upload.answer.contextId);
      this.running.set(upload, running);
      // A drain lets it finish: its outcome is what every replica answers afterwards.
      this.uploads.track(running);
    }
    return running;
  }

  private async run(upload: ResumableUpload, build: BuildRequest, contextId: string): Promise<BuildOutcome> {
    const step: BuildStep = { sentAt: Date.now() };
    upload.build = step;
    step.outcome = await this.sendOnce(upload, step, build, contextId);
    this.recorder?.recordBuild(upload, step);
    return step.outcome;
  }

  private async sendOnce(upload: ResumableUpload, step: BuildStep, build: BuildRequest, contextId: string): Promise<BuildOutcome> {
    if (!this.client) return notStarted('the bridge replica that holds this upload has no IGNITE_API_URL');
    try {
      await this.recorder?.markBuildSent(upload, step);
    } catch (err) {
      return notStarted(`the build step could not be recorded first, so CreateBuild was not called: ${(err as Error).message}`);
    }
    const headers = upload.completedBy ?? {};
    return startBuild(this.client, build, contextId, {
      authorization: headers.authorization,
      'x-request-id': headers['x-request-id'],
      traceparent: headers.traceparent,
    });
  }
}

const notStarted = (message: string): BuildOutcome => ({ kind: 'not-started', apiStatus: 0, message, details: [] });

/**
 * The build step as a replica reports it when `ownerGone`: the replica that
 * ran it cannot be reached, so a step it left "sent" has an unknown outcome.
 * One it never marked sent is unknown too, not "not started": a replica cut
 * off rather than stopped may still send it, and a client told "not started"
 * would start a second build. Undefined while it is still pending.
 */
export function reportedOutcome(step: BuildStep | undefined, ownerGone: boolean): BuildOutcome | undefined {
  if (step?.outcome) return step.outcome;
  if (!ownerGone) return undefined;
  if (step) return { kind: 'unknown', reason: 'the bridge replica that called CreateBuild stopped before its answer' };
  return { kind: 'unknown', reason: 'the bridge replica that held the upload cannot be reached, and had not recorded the build step' };
}

/**
 * The Ignite-Build-* headers of HEAD (and the final PATCH) for a stored
 * context: the state (`pending` while CreateBuild runs; `queued`, or the
 * API's own state lowercased, once started; `not-started`; `unknown`) and the
 * build's id or the reason it did not start.
 */
export function buildStateHeaders(outcome: BuildOutcome | undefined): Record<string, string> {
  if (outcome === undefined) return { 'ignite-build-state': 'pending' };
  switch (outcome.kind) {
    case 'started': {
      const headers: Record<string, string> = { 'ignite-build-state': apiState(outcome.json) };
      if (outcome.id !== undefined && /^[\x21-\x7e]{1,256}$/.test(outcome.id)) headers['ignite-build-id'] = outcome.id;
      return headers;
    }
    case 'not-started': return { 'ignite-build-state': 'not-started', 'ignite-build-error': 'BUILD_NOT_STARTED' };
    case 'unknown': return { 'ignite-build-state': 'unknown', 'ignite-build-error': 'BUILD_OUTCOME_UNKNOWN' };
  }
}

/** The final answer of an upload whose build step ended: 200 with the build, or the 424 (thrown) with the state headers set. */
export function finalBuildAnswer(context: StoredContext, outcome: BuildOutcome, setHeaders: (headers: Record<string, string>) => void): BuiltAnswer {
  setHeaders(buildStateHeaders(outcome));
  return builtAnswer(context, outcome);
}

/** The API's `state` lowercased when it is a plain word, else `queued`. */
function apiState(json: string): string {
  try {
    const state = (JSON.parse(json) as { state?: unknown }).state;
    if (typeof state === 'string' && /^[A-Za-z][A-Za-z_-]{0,63}$/.test(state)) return state.toLowerCase();
  } catch { /* the client checked it is a JSON object */ }
  return 'queued';
}
