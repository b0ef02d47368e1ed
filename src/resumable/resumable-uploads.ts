import { randomBytes } from 'node:crypto';
import { Errors } from '../errors.js';
import { settledWithin } from '../upload/abortable.js';
import type { LateAnswers } from '../upload/late-answers.js';
import type { UploadStreamer } from '../upload/stream-upload.js';
import { CreationCaps } from './creation-caps.js';
import { ResumableUpload, type ResumableSpec, type ResumableTimes } from './resumable-upload.js';

/** 144 random bits: the id is the upload's capability. */
export function newUploadId(): string {
  return randomBytes(18).toString('base64url');
}

export interface ResumableLimits extends ResumableTimes {
  /** MAX_RESUMABLE_UPLOADS: uploads this replica holds open at once (each holds an upstream stream). */
  maxUploads: number;
  /** IDEMPOTENCY_TTL_MS: how long a completed upload's answer, or its unknown outcome, is remembered. */
  answerTtlMs: number;
}

/**
 * The resumable uploads this replica owns. Open ones (receiving or
 * committing) count against MAX_RESUMABLE_UPLOADS and the per-address and
 * per-credential quarters of it (CreationCaps); ended ones are remembered:
 * completed ones and unknown outcomes for IDEMPOTENCY_TTL_MS (a client whose
 * final answer was lost reads it from HEAD hours later), failed and
 * terminated ones for RESUMABLE_EXPIRY_MS; a bounded number, and an unknown
 * outcome is never pushed out by count (forgotten, it would read as 404 and
 * a tus client would upload it again).
 */
export class ResumableUploads {
  readonly caps: CreationCaps;
  private readonly open = new Map<string, ResumableUpload>();
  private readonly ended = new Map<string, { upload: ResumableUpload; forgetAt: number }>();
  /** Writes to the shared store still under way (how uploads ended): a drain waits for them. */
  private readonly writes = new Set<Promise<unknown>>();
  private draining = false;
  private readonly completedListeners: Array<(upload: ResumableUpload) => void> = [];

  constructor(
    private readonly streamer: UploadStreamer,
    private readonly limits: ResumableLimits,
    private readonly lateAnswers: LateAnswers,
    /** Counts a PATCH that resumes a paused upload. */
    private readonly onResume: () => void = () => {},
  ) {
    this.caps = new CreationCaps(limits.maxUploads);
  }

  /** Uploads held open (receiving, paused or committing). */
  get size(): number {
    return this.open.size;
  }

  create(spec: Omit<ResumableSpec, 'id'>): ResumableUpload {
    this.assertRoom(spec.capKeys);
    return this.adopt({ ...spec, id: newUploadId() });
  }

  /** Throws the 503 a new upload with these cap keys gets here: draining, or a full cap (`id`: its own creation's place is its). */
  assertRoom(capKeys: string[], id?: string): void {
    if (this.draining) throw Errors.shuttingDown();
    this.caps.assertRoom(capKeys, id);
  }

  /** Whether this replica stopped taking new uploads (SIGTERM). */
  get isDraining(): boolean {
    return this.draining;
  }

  /** A write to the shared store that a drain should let finish. */
  track(write: Promise<unknown>): void {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /** Holds an upload whose id was already given (by this replica, or in the shared store): its call will be opened here. */
  adopt(spec: ResumableSpec): ResumableUpload {
    const upload = new ResumableUpload(spec, this.streamer, this.limits, this.lateAnswers, this.onResume);
    this.open.set(upload.id, upload);
    this.caps.take(upload.id, spec.capKeys);
    void upload.whenEnded().then(() => this.retire(upload));
    upload.onEnded(() => {
      if (upload.answer) for (const listener of this.completedListeners) listener(upload);
    });
    return upload;
  }

  /** Calls `listener` with each upload held here once it completed (its context stored). */
  onCompleted(listener: (upload: ResumableUpload) => void): void {
    this.completedListeners.push(listener);
  }

  /** Whether this replica holds (or still remembers) the upload, whoever may see it. */
  has(id: string): boolean {
    this.forgetExpired();
    return this.open.has(id) || this.ended.has(id);
  }

  /** The upload with this id, if `scope` may see it; else the 404 of an unknown upload. */
  get(id: string, scope: string): ResumableUpload {
    this.forgetExpired();
    const upload = this.open.get(id) ?? this.ended.get(id)?.upload;
    if (!upload || upload.phase === 'terminated' || (upload.spec.scope !== 'anonymous' && upload.spec.scope !== scope)) throw Errors.uploadNotFound();
    return upload;
  }

  /** SIGTERM: no new uploads; open ones may still finish. */
  drain(): void {
    this.draining = true;
  }

  /** Resolves once no upload is open and how each ended is written to the shared store, or after `ms`. */
  async settledWithin(ms: number): Promise<void> {
    const until = Date.now() + ms;
    await settledWithin(Promise.all([...this.open.values()].map((u) => u.whenEnded())), ms);
    await settledWithin(Promise.all([...this.writes]), Math.max(0, until - Date.now()));
  }

  /** The end of a drain's grace: every upload still taking bytes is reset; its client is told it is gone. */
  endAll(): void {
    for (const upload of this.open.values()) {
      upload.end(Errors.uploadGone('The bridge shut down before the upload was complete; its upstream call was cancelled and nothing was stored'));
    }
  }

  private retire(upload: ResumableUpload): void {
    this.open.delete(upload.id);
    this.caps.release(upload.id);
    const sent = upload.phase === 'completed' || upload.phase === 'unknown';
    this.ended.set(upload.id, { upload, forgetAt: Date.now() + (sent ? this.limits.answerTtlMs : this.limits.expiryMs) });
    // Bounded: the oldest failed uploads are forgotten first, then the oldest completed ones
    // (a client whose final answer was lost reads it from HEAD); unknown outcomes never.
    while (this.ended.size > 4 * this.limits.maxUploads) {
      const oldest = this.oldestEnded((u) => u.phase === 'gone' || u.phase === 'terminated') ?? this.oldestEnded((u) => u.phase === 'completed');
      if (oldest === undefined) break;
      this.ended.delete(oldest);
    }
  }

  private oldestEnded(which: (upload: ResumableUpload) => boolean): string | undefined {
    for (const [id, entry] of this.ended) if (which(entry.upload)) return id;
    return undefined;
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, { forgetAt }] of this.ended) if (forgetAt <= now) this.ended.delete(id);
  }
}
