import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { Errors, OutcomeUnknownError, toBridgeError } from '../errors.js';
import { hashingSink } from './hashing-sink.js';
import type { LateAnswers, LateOutcome } from '../upload/late-answers.js';
import type { ReceivedArchive, UploadJob, UploadOutcome } from '../upload/stream-upload.js';
import type { UploadTarget } from '../upload/upload-target.js';
import { identifyCaller, type Caller } from './authenticate.js';
import { ClaimLease, claimLeaseMs } from './claim-lease.js';
import { idempotencyKey } from './idempotency-key.js';
import type { IdempotencyStore, IdempotentResult } from './idempotency-store.js';

/** The part of an upload job the route's shared wrapper decides. */
export type RouteJob = Pick<UploadJob, 'headers' | 'watch' | 'taps' | 'checks' | 'upstream' | 'digests'> & { signal: AbortSignal };

type Response = IdempotentResult['response'];

const RECORD_RETRY_MS = 250;
const MAX_RECORD_RETRY_MS = 5000;

export interface AdmissionDependencies {
  upstream: UploadTarget;
  lateAnswers: LateAnswers;
  /** Where keys live: process memory, or Redis shared by the replicas. */
  store: IdempotencyStore;
  /** Counts a success whose Idempotency-Key record could not be written (the client still gets its 200). */
  onRecordFailed?: () => void;
}

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
    const caller = identifyCaller(request.headers, this.config);
    const key = idempotencyKey(request.headers['idempotency-key']);
    const admission = new Admission(request, caller, this.deps);
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
  /** Set while this attempt holds the key (signed requests take it once their signature verified). */
  lease: ClaimLease | undefined;
}

export class Admission {
  idempotency: KeyState | undefined;
  private name = '';
  private archive: Readonly<ReceivedArchive> | undefined;
  private rawTap: ((piece: Buffer) => void) | undefined;
  private readonly log: FastifyBaseLogger;

  constructor(
    private readonly request: FastifyRequest,
    private readonly caller: Caller,
    private readonly deps: AdmissionDependencies,
  ) {
    this.log = request.log;
  }

  job(base: Pick<RouteJob, 'headers' | 'signal' | 'watch' | 'digests'>): RouteJob {
    const job: RouteJob = {
      ...base,
      headers: { ...base.headers, authorization: this.caller.upstreamAuthorization },
      // A key's fingerprint of the body is its sha-256 (see `fingerprint`).
      digests: this.idempotency ? [...new Set([...base.digests ?? [], 'sha256' as const])] : base.digests,
      watch: (name, archive) => {
        this.name = name;
        this.archive = archive;
        base.watch?.(name, archive);
      },
    };
    const signature = this.caller.signature;
    const checks: NonNullable<RouteJob['checks']> = [];
    if (signature) {
      // The MAC is over the raw request body. A raw upload's archive bytes are that body;
      // @fastify/multipart reads request.raw itself, so a multipart body is tapped there.
      const multipart = this.request.isMultipart();
      if (multipart) this.tapRaw(this.request.raw, (piece) => signature.update(piece));
      else job.taps = [(piece) => signature.update(piece)];
      checks.push(async () => {
        if (multipart && !this.request.raw.readableEnded) await once(this.request.raw, 'end', { signal: base.signal });
        this.untap();
        signature.verify();
        await this.claimVerified();
      });
    }
    // Last: a key may only be "sent" once nothing else can refuse the upload.
    if (this.idempotency && !this.idempotency.previous) checks.push(() => this.idempotency!.lease?.send());
    if (checks.length > 0) job.checks = checks;
    if (this.idempotency?.previous) job.upstream = hashingSink;
    return job;
  }

  /** The upload went through: remember it, or answer a retry with the first response. */
  async finish(outcome: UploadOutcome, reply: FastifyReply): Promise<Response> {
    this.untap();
    const response = { contextId: outcome.contextId, sizeBytes: outcome.sizeBytes };
    const state = this.idempotency;
    if (!state) return response;
    if (state.previous) {
      if (state.previous.fingerprint !== this.fingerprint()) throw Errors.idempotencyKeyReused();
      reply.header('idempotent-replayed', 'true');
      return state.previous.response;
    }
    await this.record((lease) => state.store.complete(state.key, lease.token, { fingerprint: this.fingerprint(), response }));
    return response;
  }

  /**
   * The upload failed. A first attempt gives its key back so the retry runs
   * for real (its call was cancelled before the half-close), except when its
   * half-closed call may still be answered: then the key stays "sent"
   * (retries get 409) until the answer, or "unknown", is recorded.
   */
  async fail(err: unknown): Promise<void> {
    this.untap();
    const lease = this.idempotency?.lease;
    if (toBridgeError(err).code === 'UPSTREAM_OUTCOME_LOST') {
      await this.settleLate({ kind: 'unknown' });
      return;
    }
    if (!(err instanceof OutcomeUnknownError)) {
      if (lease) await this.record((held) => this.idempotency!.store.release(this.idempotency!.key, held.token));
      return;
    }
    this.deps.lateAnswers.follow(err, (late) => this.settleLate(late));
  }

  private async settleLate(late: LateOutcome): Promise<void> {
    this.log.info({ lateAnswer: late.kind, ...(late.kind === 'answered' ? late.response : {}), ...(late.kind === 'failed' ? { code: late.error.code } : {}) },
      late.kind === 'unknown' ? 'no answer from the upstream after the half-close: the call was reset, its outcome is unknown' : `the upstream answered late: ${late.kind}`);
    const state = this.idempotency;
    if (!state) return;
    await this.record((lease) => {
      switch (late.kind) {
        case 'answered': return state.store.complete(state.key, lease.token, { fingerprint: this.fingerprint(), response: late.response });
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
  private async record(write: (lease: ClaimLease) => Promise<boolean>): Promise<void> {
    const state = this.idempotency;
    const lease = state?.lease;
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

  private recordLater(write: (lease: ClaimLease) => Promise<boolean>, lease: ClaimLease, until: number, delayMs: number): void {
    if (Date.now() + delayMs > until) return;
    setTimeout(() => {
      write(lease).then(
        (written) => this.log.info({ idempotencyKey: lease.key.split('\n')[1], written }, 'the store answers again: the Idempotency-Key outcome was recorded'),
        () => this.recordLater(write, lease, until, Math.min(delayMs * 2, MAX_RECORD_RETRY_MS)),
      );
    }, delayMs).unref();
  }

  private fingerprint(): string {
    return JSON.stringify([this.name, this.archive?.bytes, this.archive?.digests.sha256?.toString('hex')]);
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
