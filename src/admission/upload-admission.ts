import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { Errors, toBridgeError } from '../errors.js';
import type { BuildRequest } from '../builds/build-request.js';
import type { BuildClient, BuildOutcome } from '../builds/create-build.js';
import type { HandedOff } from '../builds/reply-built.js';
import { startBuild } from '../builds/start-build.js';
import type { ForwardedHeaders } from '../upload/upload-target.js';
import { hashingSink } from './hashing-sink.js';
import type { LateAnswers, LateOutcome } from '../upload/late-answers.js';
import type { ReceivedArchive, UploadJob, UploadOutcome } from '../upload/stream-upload.js';
import { tracing } from '../observability/tracing.js';
import type { UploadTarget } from '../upload/upload-target.js';
import { identifyCaller, type Caller } from './authenticate.js';
import { ClaimLease, claimLeaseMs } from './claim-lease.js';
import { idempotencyKey } from './idempotency-key.js';
import { newClaimToken, type IdempotencyStore, type IdempotentResult } from './idempotency-store.js';

const RECORD_RETRY_MS = 250;
const MAX_RECORD_RETRY_MS = 5000;

export interface AdmissionDependencies {
  upstream: UploadTarget;
  lateAnswers: LateAnswers;
  /** Where keys live: process memory, or Redis shared by the replicas. */
  store: IdempotencyStore;
  /** Counts a success whose Idempotency-Key record could not be written (the client still gets its 200). */
  onRecordFailed?: () => void;
  /** CreateBuild, when IGNITE_API_URL is set; without it a request that asks for a build is refused. */
  builds?: BuildClient | undefined;
}

/** Where a request's build parameters came from: a v1 signature covers the body, not the query. */
export type BuildSource = 'query' | 'body';

/**
 * Signatures and Idempotency-Keys around the upload routes: `admit` runs
 * before the body (401, 409, the 504 of an unknown outcome), `job` adds the
 * signature tap and check, then the key's move to "sent" (the last check
 * before the half-close) and, for a retry of a finished key, swaps the
 * upstream for a hashing sink; `finish` records or replays the response, and
 * `fail` gives the key back, or keeps it while a late answer may still come.
 */
export class UploadAdmissions {
  private readonly store: IdempotencyStore;

  constructor(
    private readonly config: Config,
    private readonly deps: AdmissionDependencies,
  ) {
    this.store = deps.store;
  }

  async admit(request: FastifyRequest): Promise<Admission> {
    const caller = identifyCaller(request.headers, this.config, { method: request.method, url: request.raw.url ?? request.url });
    const key = idempotencyKey(request.headers['idempotency-key']);
    const admission = new Admission(request, caller, this.config, this.deps);
    if (key === undefined) return admission;
    const storeKey = `${caller.scope}\n${key}`;
    // A signature is only verified after the body: a signed request takes its key then, so a
    // forged one cannot hold a webhook's delivery key "in flight" and turn the real one away.
    const leaseMs = claimLeaseMs(this.config);
    const claim = caller.signature ? await this.store.peek(storeKey) : await this.store.claim(storeKey, leaseMs);
    switch (claim.state) {
      case 'in-flight': throw Errors.idempotencyKeyInFlight();
      case 'awaiting': throw Errors.idempotencyKeyAwaitingOutcome();
      case 'unknown': throw Errors.idempotencyOutcomeUnknown();
    }
    admission.idempotency = {
      store: this.store,
      key: storeKey,
      leaseMs,
      recordForMs: this.config.upstreamOutcomeWaitMs + this.config.idempotencyTtlMs,
      previous: claim.state === 'done' ? claim.record : undefined,
      previousToken: claim.state === 'done' ? claim.token : undefined,
      lease: claim.state === 'claimed' ? new ClaimLease(this.store, storeKey, claim.token, leaseMs) : undefined,
    };
    return admission;
  }
}

interface KeyState {
  store: IdempotencyStore;
  key: string;
  leaseMs: number;
  /** How long writing the key's final state is retried while the store is unreachable: as long as a "sent" key lives. */
  recordForMs: number;
  /** The first successful attempt's result, when this is a retry of it. */
  previous: IdempotentResult | undefined;
  /** The previous result's token while its build may be retried (taken by compare-and-set). */
  previousToken: string | undefined;
  /** Set while this attempt holds the key (signed requests take it once their signature verified). */
  lease: ClaimLease | undefined;
  /** Set once this retry took the build step from a record whose build did not start. */
  retry?: Holder;
}

/** Who holds a key: an upload's renewed claim, or a build retry's token. */
type Holder = Pick<ClaimLease, 'key' | 'token' | 'held' | 'stop'>;



export class Admission {
  idempotency: KeyState | undefined;
  /** The build this upload asks for once its context is stored. */
  private build: BuildRequest | undefined;
  private headers: ForwardedHeaders = {};
  private name = '';
  private archive: Readonly<ReceivedArchive> | undefined;
  private rawTap: ((piece: Buffer) => void) | undefined;
  private readonly log: FastifyBaseLogger;

  constructor(
    private readonly request: FastifyRequest,
    private readonly caller: Caller,
    private readonly config: Pick<Config, 'serviceToken'>,
    private readonly deps: AdmissionDependencies,
  ) {
    this.log = request.log;
  }

  /**
   * The build asked for, before the archive's first byte is forwarded: 400
   * without IGNITE_API_URL; on a signed request, only when signed (a v1
   * signature covers the body, not the query) and with IGNITE_SERVICE_TOKEN
   * (CreateBuild's credential), so a captured request cannot start another build.
   */
  requestBuild(build: BuildRequest | undefined, source: BuildSource): void {
    if (!build) return;
    if (!this.deps.builds) throw Errors.buildNotConfigured();
    const signature = this.caller.signature;
    if (signature && source === 'query' && signature.version !== 2) throw Errors.buildNotSigned();
    if (signature && !this.config.serviceToken) throw Errors.signedBuildNeedsServiceToken();
    this.build = build;
  }

  /**
   * Completes an upload's job with what admission decided: the upstream's
   * credential, the digest a key's fingerprint needs, the signature's tap, a
   * replay's hashing sink. Before the form reads its body: a multipart body
   * is tapped before the parser reads it.
   */
  prepare(job: UploadJob): void {
    job.headers.authorization = this.caller.upstreamAuthorization;
    this.headers = job.headers;
    const state = this.idempotency;
    if (state) {
      // A key's fingerprint of the body is its sha-256 (see `fingerprint`).
      job.digests = [...new Set([...job.digests ?? [], 'sha256' as const])];
      if (state.previous) job.upstream = hashingSink;
    }
    const observe = job.watch;
    job.watch = (name, archive) => {
      this.name = name;
      this.archive = archive;
      const span = observe?.(name, archive);
      if (tracing.on) span?.set({ 'ignite.idempotency_key': state !== undefined, 'ignite.idempotent_replay': state?.previous !== undefined });
      return span;
    };
    const signature = this.caller.signature;
    if (signature) {
      // The MAC is over the raw request body. A raw upload's archive bytes are that body;
      // @fastify/multipart reads request.raw itself, so a multipart body is tapped there.
      if (this.request.isMultipart()) this.tapRaw(this.request.raw, (piece) => signature.update(piece));
      else job.taps = [(piece) => signature.update(piece)];
    }
  }

  /** Before the half-close: the body's signature verified, then (a signed first attempt) its key taken. */
  async verifySignature(signal: AbortSignal): Promise<void> {
    const signature = this.caller.signature;
    if (!signature) return;
    if (this.request.isMultipart() && !this.request.raw.readableEnded) await once(this.request.raw, 'end', { signal });
    this.untap();
    signature.verify();
    await this.claimVerified();
  }

  /** The last check before the half-close: a key may only be "sent" once nothing else can refuse the upload. */
  async markSent(): Promise<void> {
    if (this.idempotency && !this.idempotency.previous) await this.idempotency.lease?.send();
  }

  /**
   * The upload went through: remember it, or answer a retry with the first
   * response; then, when a build was asked for, the hand-off (after
   * `releaseSlot`: CreateBuild holds no upload slot).
   */
  async finish(outcome: UploadOutcome, reply: FastifyReply, releaseSlot: () => void): Promise<HandedOff> {
    this.untap();
    const response = { contextId: outcome.contextId, sizeBytes: outcome.sizeBytes };
    const state = this.idempotency;
    if (state?.previous) {
      const previous = state.previous;
      if (previous.fingerprint !== this.fingerprint()) throw Errors.idempotencyKeyReused();
      if (!this.build || previous.build?.kind === 'started') reply.header('idempotent-replayed', 'true');
      if (!this.build) return previous.response;
      releaseSlot();
      if (previous.build?.kind === 'not-started' && state.previousToken) return this.retryBuild(previous, state.previousToken);
      // Started (replayed), unknown (sticky) or, the token gone, taken by a retry that then stopped.
      return { ...previous.response, build: previous.build ?? buildTaken };
    }
    if (!this.build) {
      if (state) await this.record((lease) => state.store.complete(state.key, lease.token, { fingerprint: this.fingerprint(), response }));
      return response;
    }
    releaseSlot();
    const record: IdempotentResult = { fingerprint: this.fingerprint(), response };
    const lease = state?.lease;
    if (state && lease) {
      let sent = false;
      try {
        sent = lease.held && await state.store.markBuildSent(state.key, lease.token, { token: lease.token, record });
      } catch (err) {
        this.log.error({ err: toBridgeError(err) }, 'the build could not be marked as sent in the shared store: CreateBuild was not called');
      }
      if (!sent) {
        // The same token either way: the record is the upload's "sent" or this "build sent", never another attempt's.
        await this.record((held) => state.store.complete(state.key, held.token, { ...record, build: notMarked }));
        return { ...response, build: notMarked };
      }
    }
    const build = await this.createBuild(response.contextId);
    if (state) await this.record((held) => state.store.complete(state.key, held.token, { ...record, build }));
    return { ...response, build };
  }

  /** A retry after BUILD_NOT_STARTED: only CreateBuild again, with this request's credential, once the key is taken from the record. */
  private async retryBuild(previous: IdempotentResult, token: string): Promise<HandedOff> {
    const state = this.idempotency!;
    const next = newClaimToken();
    const record: IdempotentResult = { fingerprint: previous.fingerprint, response: previous.response };
    let taken: boolean;
    try {
      taken = await state.store.markBuildSent(state.key, token, { token: next, record });
    } catch (err) {
      this.log.error({ err: toBridgeError(err) }, 'the build retry could not be marked as sent in the shared store: CreateBuild was not called');
      return { ...previous.response, build: notMarked };
    }
    // Another retry took it first: it answers; this one is told to ask again.
    if (!taken) throw Errors.idempotencyKeyAwaitingOutcome();
    state.retry = { key: state.key, token: next, held: true, stop: () => {} };
    const build = await this.createBuild(previous.response.contextId);
    await this.record((held) => state.store.complete(state.key, held.token, { ...record, build }));
    return { ...previous.response, build };
  }

  private createBuild(contextId: string): Promise<BuildOutcome> {
    return startBuild(this.deps.builds!, this.build!, contextId, this.headers, { log: this.log, label: 'build' });
  }


  /**
   * The upload failed. A first attempt gives its key back so the retry runs
   * for real (its call was cancelled before the half-close), except when its
   * half-closed call may still be answered: then the key stays "sent"
   * (retries get 409) until the answer, or "unknown", is recorded.
   */
  async fail(err: unknown): Promise<void> {
    this.untap();
    await this.deps.lateAnswers.settle(err, (outcome, late) => this.settleLate(outcome, late));
  }

  /** `afterTimeout`: the outcome came (or never did) after the client's 504. A lost connection is logged too; a refusal was the client's answer already. */
  private async settleLate(late: LateOutcome, afterTimeout: boolean): Promise<void> {
    if (afterTimeout || late.kind === 'unknown') {
      this.log.info({ lateAnswer: late.kind, ...(late.kind === 'answered' ? late.response : {}), ...(late.kind === 'failed' ? { code: late.error.code } : {}) },
        late.kind === 'unknown' ? 'no answer from the upstream after the half-close: the call was reset, its outcome is unknown' : `the upstream answered late: ${late.kind}`);
    }
    const state = this.idempotency;
    if (!state) return;
    await this.record((lease) => {
      switch (late.kind) {
        // A build asked for was never started (the client had its 504): a retry with the key starts only the build.
        case 'answered': return state.store.complete(state.key, lease.token, { fingerprint: this.fingerprint(), response: late.response, ...this.build ? { build: lateContext } : {} });
        case 'failed': return state.store.release(state.key, lease.token);
        case 'unknown': return state.store.markUnknown(state.key, lease.token);
      }
    });
  }

  /**
   * Writes the key's final state; a store that fails or a lapsed claim is logged and counted, never the client's error.
   * A store that fails is tried again in the background until it answers: a key left "sent" would answer 409 for as
   * long as this process lives, one left claimed by a cancelled upload would hold its retries off.
   */
  private async record(write: (lease: Holder) => Promise<boolean>): Promise<void> {
    const state = this.idempotency;
    const lease = state?.retry ?? state?.lease;
    if (!state || !lease) return;
    lease.stop();
    try {
      if (!lease.held || !(await write(lease))) {
        this.log.warn({ idempotencyKey: lease.key.split('\n')[1] }, 'the Idempotency-Key claim had lapsed: this attempt\'s outcome was not recorded under it');
        this.deps.onRecordFailed?.();
      }
    } catch (err) {
      this.log.error({ err: toBridgeError(err), idempotencyKey: lease.key.split('\n')[1] }, 'recording the Idempotency-Key outcome failed; retrying in the background until the store answers');
      this.deps.onRecordFailed?.();
      this.recordLater(write, lease, Date.now() + state.recordForMs, RECORD_RETRY_MS);
    }
  }

  private recordLater(write: (lease: Holder) => Promise<boolean>, lease: Holder, until: number, delayMs: number): void {
    if (Date.now() + delayMs > until) return;
    setTimeout(() => {
      write(lease).then(
        (written) => this.log.info({ idempotencyKey: lease.key.split('\n')[1], written }, 'the store answers again: the Idempotency-Key outcome was recorded'),
        () => this.recordLater(write, lease, until, Math.min(delayMs * 2, MAX_RECORD_RETRY_MS)),
      );
    }, delayMs).unref();
  }

  /** An upload without a build keeps the previous version's fingerprint, so both read each other's records. */
  private fingerprint(): string {
    const upload = [this.name, this.archive?.bytes, this.archive?.digests.sha256?.toString('hex')];
    return JSON.stringify(this.build ? [...upload, this.build.name, this.build.tags] : upload);
  }

  /** A verified signed first attempt takes its key now, before the half-close. */
  private async claimVerified(): Promise<void> {
    const state = this.idempotency;
    if (!state || state.previous || state.lease) return;
    const claim = await state.store.claim(state.key, state.leaseMs);
    // Taken meanwhile by another verified attempt (in flight, or just finished): its retry will replay.
    if (claim.state !== 'claimed') throw Errors.idempotencyKeyInFlight();
    state.lease = new ClaimLease(state.store, state.key, claim.token, state.leaseMs);
  }

  private tapRaw(raw: IncomingMessage, listener: (piece: Buffer) => void): void {
    // Without the pause, adding a 'data' listener would start the body flowing before the parser is piped in.
    raw.pause();
    raw.on('data', listener);
    this.rawTap = listener;
  }

  private untap(): void {
    if (this.rawTap) this.request.raw.removeListener('data', this.rawTap);
    this.rawTap = undefined;
  }
}

/** The build step could not be recorded as sent: CreateBuild was not called, a retry with the key may call it. */
const notMarked: BuildOutcome = {
  kind: 'not-started', apiStatus: 0, details: [],
  message: 'the build step could not be marked as sent in the shared store (Redis, REDIS_URL), so CreateBuild was not called',
};

/** The upstream's answer came after the client's 504: the build was never asked for. */
const lateContext: BuildOutcome = {
  kind: 'not-started', apiStatus: 0, details: [],
  message: 'the upstream answered after the client was told the outcome was unknown, so CreateBuild was not called',
};

/** A "not started" record without its token: a retry took it and its outcome was never recorded. */
const buildTaken: BuildOutcome = { kind: 'unknown', reason: 'a retry took the build step and its outcome was not recorded' };
