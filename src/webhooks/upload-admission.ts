import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { Errors } from '../errors.js';
import { hashingSink } from '../upload/hashing-sink.js';
import type { UploadJob, UploadOutcome, UploadTarget } from '../upload/stream-upload.js';
import { identifyCaller, type Caller } from './authenticate.js';
import { idempotencyKey } from './idempotency-key.js';
import { MemoryIdempotencyStore, type IdempotencyStore, type IdempotentResult } from './idempotency-store.js';

/** The part of an upload job the route's shared wrapper decides. */
export type RouteJob = Pick<UploadJob, 'headers' | 'signal' | 'watch' | 'tap' | 'beforeCommit' | 'upstream'>;

type Response = IdempotentResult['response'];

/**
 * Signatures and Idempotency-Keys around the upload routes: `admit` runs
 * before the body (401, 409), `job` adds the signature tap and check and, for
 * a retry of a finished key, swaps the upstream for a hashing sink; `finish`
 * records or replays the response.
 */
export class UploadAdmissions {
  constructor(
    private readonly config: Config,
    private readonly upstream: UploadTarget,
    private readonly store: IdempotencyStore = new MemoryIdempotencyStore(config.idempotencyTtlMs, config.idempotencyMaxKeys),
  ) {}

  async admit(request: FastifyRequest): Promise<Admission> {
    const caller = identifyCaller(request.headers, this.config);
    const key = idempotencyKey(request.headers['idempotency-key']);
    if (key === undefined) return new Admission(request, caller, this.upstream);
    const storeKey = `${caller.scope}\n${key}`;
    // A signature is only verified after the body: a signed request takes its key then, so a
    // forged one cannot hold a webhook's delivery key "in flight" and turn the real one away.
    const claim = caller.signature ? await this.store.peek(storeKey) : await this.store.claim(storeKey);
    if (claim.state === 'in-flight') throw Errors.idempotencyKeyInFlight();
    return new Admission(request, caller, this.upstream, {
      store: this.store,
      key: storeKey,
      previous: claim.state === 'done' ? claim.record : undefined,
      claimed: !caller.signature && claim.state === 'claimed',
    });
  }
}

interface KeyState {
  store: IdempotencyStore;
  key: string;
  /** The first successful attempt's result, when this is a retry of it. */
  previous: IdempotentResult | undefined;
  /** This attempt holds the key (signed requests take it once their signature verified). */
  claimed: boolean;
}

export class Admission {
  private name = '';
  private rawTap: ((piece: Buffer) => void) | undefined;

  constructor(
    private readonly request: FastifyRequest,
    private readonly caller: Caller,
    private readonly upstream: UploadTarget,
    private readonly idempotency?: KeyState,
  ) {}

  job(base: Pick<UploadJob, 'headers' | 'signal' | 'watch'>): RouteJob {
    const job: RouteJob = { ...base, headers: { ...base.headers, authorization: this.caller.upstreamAuthorization } };
    const signature = this.caller.signature;
    if (signature) {
      // The MAC is over the raw request body. A raw upload's archive bytes are that body;
      // @fastify/multipart reads request.raw itself, so a multipart body is tapped there.
      const multipart = this.request.isMultipart();
      if (multipart) this.tapRaw(this.request.raw, (piece) => signature.update(piece));
      else job.tap = (piece) => signature.update(piece);
      job.beforeCommit = async () => {
        if (multipart && !this.request.raw.readableEnded) await once(this.request.raw, 'end', { signal: base.signal });
        this.untap();
        signature.verify();
        await this.claimVerified();
      };
    }
    if (this.idempotency) {
      const target = this.idempotency.previous ? hashingSink : this.upstream;
      job.upstream = {
        open: (metadata, headers) => {
          this.name = metadata.name;
          return target.open(metadata, headers);
        },
      };
    }
    return job;
  }

  /** The upload went through: remember it, or answer a retry with the first response. */
  async finish(outcome: UploadOutcome, reply: FastifyReply): Promise<Response> {
    this.untap();
    const response = { contextId: outcome.contextId, sizeBytes: outcome.sizeBytes };
    if (!this.idempotency) return response;
    const fingerprint = JSON.stringify([this.name, outcome.bytes, outcome.digests.sha256!.toString('hex')]);
    const { previous, store, key } = this.idempotency;
    if (!previous) {
      await store.complete(key, { fingerprint, response });
      return response;
    }
    if (previous.fingerprint !== fingerprint) throw Errors.idempotencyKeyReused();
    reply.header('idempotent-replayed', 'true');
    return previous.response;
  }

  /** The upload failed: a first attempt gives its key back so the retry runs for real. */
  async fail(): Promise<void> {
    this.untap();
    if (this.idempotency?.claimed) await this.idempotency.store.release(this.idempotency.key);
  }

  /** A verified signed first attempt takes its key now, before the half-close. */
  private async claimVerified(): Promise<void> {
    const state = this.idempotency;
    if (!state || state.previous || state.claimed) return;
    const claim = await state.store.claim(state.key);
    // Taken meanwhile by another verified attempt (in flight, or just finished): its retry will replay.
    if (claim.state !== 'claimed') throw Errors.idempotencyKeyInFlight();
    state.claimed = true;
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
