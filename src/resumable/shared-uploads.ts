import type { FastifyReply, FastifyRequest } from 'fastify';
import { BridgeError, Errors, UnavailableError } from '../errors.js';
import type { UploadGate } from '../upload/upload-gate.js';
import { OWNER_HOP_HEADER, type OwnerForwarding } from './owner-forwarding.js';
import type { BuildRecorder, BuildStep } from './resumable-build.js';
import type { RecordEnd, RecordOwner, RecordSpec, ResumableRecordStore, UploadRecord } from './resumable-records.js';
import type { ResumableSpec, ResumableTimes, ResumableUpload } from './resumable-upload.js';
import { newUploadId, type ResumableUploads } from './resumable-uploads.js';
import { uploadIdOf, type Found, type TusMethod, type UnclaimedUpload, type UploadStore } from './upload-store.js';

export interface SharedUploadsOptions {
  uploads: ResumableUploads;
  records: ResumableRecordStore;
  forwarding: OwnerForwarding;
  gate: UploadGate;
  times: SharedTimes;
  /** This replica as an owner: its process instance and the address others reach it at (known once it listens). */
  self: () => RecordOwner;
  /** The credential scope of a request (as at creation). */
  scopeOf: (request: FastifyRequest) => string;
  log: { warn(fields: object, message: string): void };
}

export interface SharedTimes extends ResumableTimes {
  /** IDEMPOTENCY_TTL_MS: how long a record keeps a completed upload's answer, or its unknown outcome. */
  answerTtlMs: number;
  /** UPSTREAM_OUTCOME_WAIT_MS: how long a late answer may still come after the half-close. */
  outcomeWaitMs: number;
}

/** A write to the shared store that failed is tried again this long after, this many times in all. */
const STORE_RETRY_MS = 1000;
const PUBLISH_ATTEMPTS = 30;
/** The "build sent" marker is retried this often (a second apart) before the build is given up as not started. */
const BUILD_SENT_ATTEMPTS = 3;
/** Claims whose command failed (e.g. timed out) and may still have landed, reconciled when the store answers again. */
const MAX_UNSURE_CLAIMS = 1024;
/** A full replica checks its unclaimed creations against the store at most this often. */
const ROOM_RECHECK_MS = 1000;

/**
 * Resumable uploads across replicas (REDIS_URL): the record of every upload
 * lives in the shared store from its creation; the replica that receives
 * its first PATCH claims it atomically, opens the call and holds it; every
 * other replica forwards the upload's requests to that owner. What the
 * owner's upload ends with (its answer, or why it is gone) is written back
 * to the record, so any replica answers for it afterwards.
 */
export class SharedResumableUploads implements UploadStore, BuildRecorder {
  /** Claims under way here: a second request for the upload waits for the first's to be held. */
  private readonly claiming = new Map<string, Promise<void>>();
  /** Ends still being written to the store, per upload: a newer end is written after the one in flight. */
  private readonly publishing = new Map<string, { again: boolean }>();
  /** Claims of this replica that failed to answer: if one landed anyway, it is undone or, on the next request, held here. */
  private readonly unsure = new Set<string>();
  /** When the unclaimed creations counted here were last checked against the store. */
  private recheckedAt = 0;

  constructor(private readonly o: SharedUploadsOptions) {}

  /**
   * Creation: the record, unclaimed (counted against this replica's caps
   * until it is claimed or lapses); or, when the creation carries the first
   * bytes, claimed by this replica and held.
   */
  async create(spec: Omit<ResumableSpec, 'id' | 'createdAt'>, withBody: boolean): Promise<ResumableUpload | UnclaimedUpload> {
    await this.assertRoom(spec.capKeys);
    const now = Date.now();
    const { expiryMs, maxLifetimeMs } = this.o.times;
    const record: UploadRecord = { spec: { ...spec, id: newUploadId(), createdAt: now }, expiresAt: now + Math.min(expiryMs, maxLifetimeMs) };
    if (!withBody) {
      await this.o.records.create(record, record.expiresAt - now + expiryMs);
      this.o.uploads.caps.take(record.spec.id, spec.capKeys, record.expiresAt);
      return { id: record.spec.id, offset: 0, expiresAt: record.expiresAt };
    }
    const owner = this.o.self();
    await this.o.records.create({ ...record, owner }, this.ownedTtl());
    return this.hold(record.spec, owner);
  }

  /**
   * Where the request's upload lives: held here (a forwarded request is
   * served from this process's memory or refused, never forwarded on), or as
   * its record says.
   */
  async find(request: FastifyRequest, method: TusMethod): Promise<Found> {
    const id = uploadIdOf(request);
    // A request another replica forwarded here may arrive before this replica's own winning claim is held.
    await this.claiming.get(id);
    const hop = request.headers[OWNER_HOP_HEADER];
    if (hop !== undefined) {
      if (hop === this.o.self().instance && this.o.uploads.has(id)) return this.here(request, id);
      const record = await this.o.records.read(id);
      // A stored context is answered from its record; the build step its owner left unfinished never finishes.
      if (record?.end && 'answer' in record.end) return this.locate(request, method, id, record, true);
      throw ownerGone(record, hop === this.o.self().instance ? 'no longer has it' : 'restarted');
    }
    if (this.o.uploads.has(id)) return this.here(request, id);
    return this.locate(request, method, id, await this.o.records.read(id));
  }

  private here(request: FastifyRequest, id: string): Found {
    return { at: 'here', upload: this.o.uploads.get(id, this.o.scopeOf(request)) };
  }

  /** Where its record says the upload is, for a request this replica cannot serve from memory. */
  private async locate(request: FastifyRequest, method: TusMethod, id: string, record: UploadRecord | undefined, ownerStopped = false): Promise<Found> {
    if (!record || (record.spec.scope !== 'anonymous' && record.spec.scope !== this.o.scopeOf(request))) throw Errors.uploadNotFound();
    if (record.end) {
      if ('answer' in record.end && record.spec.build && !record.build?.outcome && !ownerStopped) return this.ownerOfBuild(request, record);
      return { at: 'ended', record, end: record.end, ownerStopped };
    }
    if (record.owner) {
      const self = this.o.self();
      if (record.owner.instance === self.instance) {
        // Claimed here by a request that ran alongside this one.
        await this.claiming.get(id);
        if (this.o.uploads.has(id)) return this.here(request, id);
        // A claim of ours that timed out yet landed: no call was opened for it, so it is held now.
        if (this.unsure.delete(id) && record.sentAt === undefined) {
          this.hold(record.spec, self);
          return this.here(request, id);
        }
        throw ownerGone(record, '(this one) no longer has it');
      }
      if (record.owner.address === self.address) throw ownerGone(record, `(${self.address}) restarted`);
      return { at: 'owner', forward: (reply) => this.forward(request, reply, method, record) };
    }
    const now = Date.now();
    if (record.expiresAt <= now) throw Errors.uploadExpired(`no bytes arrived for RESUMABLE_EXPIRY_MS, ${this.o.times.expiryMs} ms`);
    return {
      at: 'unclaimed',
      record,
      claim: () => this.claim(request, id, record, now),
      terminate: () => this.terminateUnclaimed(request, id, now),
    };
  }

  private async terminateUnclaimed(request: FastifyRequest, id: string, now: number): Promise<Found | undefined> {
    const after = await this.o.records.endUnclaimed(id, { terminated: true }, now, this.o.times.expiryMs);
    if (after?.end && 'terminated' in after.end && !after.owner) {
      this.o.uploads.caps.release(id);
      return undefined;
    }
    return this.locate(request, 'DELETE', id, after);
  }

  /** The first PATCH claims the upload for this replica, which then holds its call; another replica may have been first. */
  private async claim(request: FastifyRequest, id: string, record: UploadRecord, now: number): Promise<Found> {
    // Claiming takes this replica's room for a call; the per-address and per-credential quarters bound creation (done).
    await this.assertRoom([], id);
    const self = this.o.self();
    let held!: () => void;
    this.claiming.set(id, new Promise((resolve) => { held = resolve; }));
    try {
      const after = await this.o.records.claim(id, self, now, this.ownedTtl()).catch((err: unknown) => {
        this.reconcileClaim(id, self, record.expiresAt - now + this.o.times.expiryMs);
        throw err;
      });
      if (after?.owner && !after.end && after.owner.instance === self.instance) {
        // Two first PATCHes on this replica: the one that resumes first holds the upload, the other uses it.
        if (!this.o.uploads.has(id)) this.hold(after.spec, self);
        return this.here(request, id);
      }
      return await this.locate(request, 'PATCH', id, after);
    } finally {
      this.claiming.delete(id);
      held();
    }
  }

  /** Sends the request to the upload's owner; when the owner cannot answer, where the record says the upload is. */
  private async forward(request: FastifyRequest, reply: FastifyReply, method: TusMethod, record: UploadRecord): Promise<Found | undefined> {
    // A forwarded PATCH streams bytes through this replica: it takes an upload slot here too, and the drain ends it.
    const slot = method === 'PATCH' ? this.o.gate.enter({ duringDrain: true }) : undefined;
    try {
      await this.o.forwarding.forward(request, reply, record.owner!, slot?.signal ?? new AbortController().signal, (detail) => ownerGone(record, detail));
      return undefined;
    } catch (err) {
      if (!isOwnerUnreachable(err)) throw err;
      // A stuck or broken-off owner of a sent upload: its outcome is still to come, and a tus client restarts on a 503.
      const now = await this.o.records.read(record.spec.id).catch(() => record);
      if (now?.end && !('unknown' in now.end)) return { at: 'ended', record: now, end: now.end, ownerStopped: false };
      if (now?.sentAt !== undefined || now?.end) throw Errors.uploadOutcomePending();
      throw err;
    } finally {
      slot?.release();
    }
  }

  /**
   * A stored context whose build step its owner has not recorded an outcome
   * for: the owner answers (it knows whether the call is still running);
   * when it is gone, the record does (the step can no longer finish).
   */
  private ownerOfBuild(request: FastifyRequest, record: UploadRecord): Found {
    const owner = record.owner;
    const self = this.o.self();
    // This replica reached here without holding the upload: if it was the owner, it forgot it or restarted.
    if (!owner || owner.instance === self.instance || owner.address === self.address) return { at: 'ended', record, end: record.end!, ownerStopped: true };
    return {
      at: 'owner',
      forward: async (reply) => {
        let gone: BridgeError | undefined;
        try {
          await this.o.forwarding.forward(request, reply, owner, new AbortController().signal, (detail) => (gone = Errors.uploadOwnerGone(detail)));
          return undefined;
        } catch (err) {
          // Gone: its build step never finishes; stuck or broken off: the context is stored, its build still pending.
          if (err !== gone && !isOwnerUnreachable(err)) throw err;
          return { at: 'ended', record, end: record.end!, ownerStopped: err === gone };
        }
      },
    };
  }

  /** Before the CreateBuild call: the record moves to "build sent", by a compare-and-set on this replica as its owner. */
  async markBuildSent(upload: ResumableUpload, step: BuildStep): Promise<void> {
    await retryStoreWrite(async () => {
      if (await this.o.records.markBuildSent(upload.id, this.o.self(), step, this.o.times.answerTtlMs)) return;
      throw new Error('the upload\'s record in the shared store (REDIS_URL) no longer names this bridge replica');
    }, { attempts: BUILD_SENT_ATTEMPTS, retryable: isStoreUnavailable });
  }

  /** The build step's outcome, written to the record for every replica, retried while the store cannot answer. */
  recordBuild(upload: ResumableUpload, step: BuildStep): void {
    const owner = this.o.self();
    this.o.uploads.track(retryStoreWrite(() => this.o.records.finishBuild(upload.id, owner, step, this.o.times.answerTtlMs), { attempts: PUBLISH_ATTEMPTS }).catch((err: unknown) => {
      this.o.log.warn({ uploadId: upload.id, err }, 'recording a resumable upload\'s build outcome in the shared store failed; other replicas forward to this one for it meanwhile');
    }));
  }

  /**
   * The caps of a new upload here; when full, the unclaimed creations it
   * counts are checked against the store first (another replica may have
   * claimed them, or they were terminated).
   */
  private async assertRoom(capKeys: string[], id?: string): Promise<void> {
    try {
      this.o.uploads.assertRoom(capKeys, id);
    } catch (err) {
      const caps = this.o.uploads.caps;
      // Only the replica-wide cap, at most once a second: else every refused creation of a flood reads every unclaimed record.
      if (!(err instanceof UnavailableError && err.code === 'RESUMABLE_UPLOADS_FULL') || caps.size < caps.max || Date.now() - this.recheckedAt < ROOM_RECHECK_MS) throw err;
      const unclaimed = caps.unclaimed().filter((other) => other !== id);
      if (unclaimed.length === 0) throw err;
      this.recheckedAt = Date.now();
      const records = await Promise.all(unclaimed.map((other) => this.o.records.read(other)));
      unclaimed.forEach((other, i) => {
        const record = records[i];
        if (!record || record.owner || record.end) this.o.uploads.caps.release(other);
      });
      this.o.uploads.assertRoom(capKeys, id);
    }
  }

  /**
   * A claim whose command failed may still have landed (its answer was
   * lost): once the store answers again, the claim is undone unless a
   * request already made this replica hold the upload.
   */
  private reconcileClaim(id: string, owner: RecordOwner, ttlMs: number): void {
    if (this.unsure.size >= MAX_UNSURE_CLAIMS) this.unsure.delete(this.unsure.values().next().value!);
    this.unsure.add(id);
    void retryStoreWrite(async () => {
      if (!this.unsure.has(id) || this.o.uploads.has(id)) return;
      await this.o.records.unclaim(id, owner, ttlMs);
      this.unsure.delete(id);
    }, { attempts: PUBLISH_ATTEMPTS + 1, waitFirst: true }).catch(() => {});
  }

  /** Holds the upload's call here; it is half-closed only once its record says "sent"; how it ends is written to its record. */
  private hold(spec: RecordSpec, owner: RecordOwner): ResumableUpload {
    const upload = this.o.uploads.adopt({ ...spec });
    upload.sendOnlyAfter(() => this.markSent(upload, owner));
    upload.onEnded(() => this.publish(upload, owner));
    return upload;
  }

  /**
   * The compare-and-set that must succeed before the half-close: retried
   * while the store cannot answer (the complete upload keeps its call,
   * requests for it get 423); a record this replica no longer owns cancels it.
   */
  private async markSent(upload: ResumableUpload, owner: RecordOwner): Promise<void> {
    const { answerTtlMs, outcomeWaitMs } = this.o.times;
    await retryStoreWrite(async () => {
      if (await this.o.records.markSent(upload.id, owner, Date.now(), outcomeWaitMs + answerTtlMs)) return;
      throw Errors.uploadGone('Its record in the shared store (REDIS_URL) is gone or no longer names this replica, so the complete upload was cancelled before its half-close; nothing was stored');
    }, {
      attempts: Infinity,
      retryable: isStoreUnavailable,
      onRetry: (err, attempt) => {
        if (attempt === 1) this.o.log.warn({ uploadId: upload.id, err }, 'a complete resumable upload waits for the shared store to mark it sent before its half-close; retrying');
      },
    });
  }

  /**
   * Writes the upload's end to its record, retrying while the store is
   * unreachable (meanwhile other replicas forward to this one, which
   * answers from memory). Always writes the latest end: a late answer
   * replaces an unknown outcome.
   */
  private publish(upload: ResumableUpload, owner: RecordOwner): void {
    // Still awaiting a late answer: the record stays "sent" with this replica as its owner, which answers 423.
    if (endOf(upload) === undefined) return;
    const running = this.publishing.get(upload.id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: true };
    this.publishing.set(upload.id, state);
    this.o.uploads.track((async () => {
      try {
        // Each write takes the latest end; one that changed meanwhile is written after it.
        while (state.again) {
          state.again = false;
          await retryStoreWrite(() => {
            const end = endOf(upload)!;
            return this.o.records.finish(upload.id, owner, end, 'answer' in end || 'unknown' in end ? this.o.times.answerTtlMs : this.o.times.expiryMs);
          }, { attempts: PUBLISH_ATTEMPTS });
        }
      } catch (err) {
        this.o.log.warn({ uploadId: upload.id, err }, 'recording how a resumable upload ended in the shared store failed; other replicas forward to this one for it meanwhile');
      } finally {
        this.publishing.delete(upload.id);
      }
    })());
  }

  /** Claimed: the record lives as long as the upload may, and its answer for RESUMABLE_EXPIRY_MS after. */
  private ownedTtl(): number {
    return this.o.times.maxLifetimeMs + this.o.times.expiryMs;
  }
}

/** How the upload ended, as the record keeps it; undefined while a late answer may still come. */
function endOf(upload: ResumableUpload): RecordEnd | undefined {
  if (upload.answer) return { answer: upload.answer, offset: upload.offset, expiresAt: upload.expiresAt };
  if (upload.phase === 'terminated') return { terminated: true };
  if (upload.phase === 'unknown') return upload.awaitingAnswer ? undefined : { unknown: { message: upload.error!.message } };
  const error = upload.error ?? Errors.uploadGone('The upload ended');
  return { gone: { code: error.code, message: error.message } };
}

/** Forwarding to a live owner failed (it stalled, or broke off): the upload may still be there. */
function isOwnerUnreachable(err: unknown): boolean {
  return err instanceof UnavailableError && err.code === 'UPLOAD_OWNER_UNREACHABLE';
}

/**
 * What a request is told when the replica holding the upload is gone: its
 * call went with it (410), unless the call was already half-closed, whose
 * outcome is then the upstream's and unknown here (423, never "nothing stored").
 */
function ownerGone(record: UploadRecord | undefined, detail: string): BridgeError {
  if (record?.sentAt !== undefined) return Errors.uploadOutcomeUnknown(`the bridge replica that sent it ${detail.replace(/^\(.*?\) /, '')} before the upstream's answer reached it`);
  return Errors.uploadOwnerGone(detail);
}

interface StoreRetry {
  /** Tries in all, the first included. */
  attempts: number;
  /** Whether a failure may be tried again (default: any failure). */
  retryable?: (err: unknown) => boolean;
  /** Waits before the first try too (a write that just failed once elsewhere). */
  waitFirst?: boolean;
  /** Called before each wait, with the failure and the number of the try that failed. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/**
 * A write to the shared store, tried a second apart until it succeeds, a
 * failure is not retryable, or the tries run out (then it throws the last
 * failure). Owners wait so for Redis to answer: the record is what every
 * other replica answers from.
 */
async function retryStoreWrite<T>(write: () => Promise<T>, { attempts, retryable = () => true, waitFirst = false, onRetry }: StoreRetry): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (waitFirst || attempt > 1) await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_MS).unref());
    try {
      return await write();
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      onRetry?.(err, attempt);
    }
  }
}

/** Redis did not answer (SHARED_STATE_UNAVAILABLE): the write may succeed later. */
function isStoreUnavailable(err: unknown): boolean {
  return err instanceof UnavailableError && err.code === 'SHARED_STATE_UNAVAILABLE';
}
