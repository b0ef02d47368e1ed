import { randomBytes } from 'node:crypto';
import { Errors } from '../errors.js';
import { settledWithin } from '../upload/abortable.js';
import type { LateAnswers } from '../upload/late-answers.js';
import type { UploadStreamer } from '../upload/stream-upload.js';
import { ResumableUpload, type ResumableSpec, type ResumableTimes } from './resumable-upload.js';

/** 144 random bits: the id is the upload's capability. */
export function newUploadId(): string {
  return randomBytes(18).toString('base64url');
}

export interface ResumableLimits extends ResumableTimes {
  /** MAX_RESUMABLE_UPLOADS: uploads this replica holds open at once (each holds an upstream stream). */
  maxUploads: number;
}

/**
 * The resumable uploads this replica owns. Open ones (receiving or
 * committing) count against MAX_RESUMABLE_UPLOADS and a per-credential
 * quarter of it; ended ones are remembered for RESUMABLE_EXPIRY_MS (a bounded
 * number), so a client whose final answer was lost still reads it from HEAD.
 */
export class ResumableUploads {
  private readonly open = new Map<string, ResumableUpload>();
  private readonly ended = new Map<string, { upload: ResumableUpload; forgetAt: number }>();
  private readonly perCredential = new Map<string, number>();
  private readonly perCredentialMax: number;
  private draining = false;

  constructor(
    private readonly streamer: UploadStreamer,
    private readonly limits: ResumableLimits,
    private readonly lateAnswers: LateAnswers,
    /** Counts a PATCH that resumes a paused upload. */
    private readonly onResume: () => void = () => {},
  ) {
    this.perCredentialMax = Math.max(1, Math.floor(limits.maxUploads / 4));
  }

  /** Uploads held open (receiving, paused or committing). */
  get size(): number {
    return this.open.size;
  }

  create(spec: Omit<ResumableSpec, 'id'>): ResumableUpload {
    this.assertRoom(spec.capKey);
    return this.adopt({ ...spec, id: newUploadId() });
  }

  /** Throws the 503 a new upload for `capKey` gets here: draining, or at the replica's or the credential's cap. */
  assertRoom(capKey: string): void {
    if (this.draining) throw Errors.shuttingDown();
    if (this.open.size >= this.limits.maxUploads) throw Errors.resumableCapacity(this.limits.maxUploads, 'replica');
    if ((this.perCredential.get(capKey) ?? 0) >= this.perCredentialMax) throw Errors.resumableCapacity(this.perCredentialMax, 'credential');
  }

  /** Holds an upload whose id was already given (by this replica, or in the shared store): its call will be opened here. */
  adopt(spec: ResumableSpec): ResumableUpload {
    const upload = new ResumableUpload(spec, this.streamer, this.limits, this.lateAnswers, this.onResume);
    this.open.set(upload.id, upload);
    this.perCredential.set(spec.capKey, (this.perCredential.get(spec.capKey) ?? 0) + 1);
    void upload.whenEnded().then(() => this.retire(upload));
    return upload;
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
    if (!upload || (upload.spec.scope !== 'anonymous' && upload.spec.scope !== scope)) throw Errors.uploadNotFound();
    return upload;
  }

  /** DELETE: the upload is reset and forgotten (later requests get 404). */
  async terminate(upload: ResumableUpload): Promise<void> {
    await upload.terminate();
    this.ended.delete(upload.id);
  }

  /** SIGTERM: no new uploads; open ones may still finish. */
  drain(): void {
    this.draining = true;
  }

  /** Resolves once no upload is open, or after `ms`. */
  async settledWithin(ms: number): Promise<void> {
    await settledWithin(Promise.all([...this.open.values()].map((u) => u.whenEnded())), ms);
  }

  /** The end of a drain's grace: every upload still taking bytes is reset; its client is told it is gone. */
  endAll(): void {
    for (const upload of this.open.values()) {
      upload.end(Errors.uploadGone('The bridge shut down before the upload was complete; its upstream call was cancelled and nothing was stored'));
    }
  }

  private retire(upload: ResumableUpload): void {
    this.open.delete(upload.id);
    const held = (this.perCredential.get(upload.spec.capKey) ?? 1) - 1;
    if (held > 0) this.perCredential.set(upload.spec.capKey, held);
    else this.perCredential.delete(upload.spec.capKey);
    this.ended.set(upload.id, { upload, forgetAt: Date.now() + this.limits.expiryMs });
    // Bounded: the oldest failed uploads are forgotten first, so cheap failures cannot push out
    // the answers of completed ones (a client whose final answer was lost reads it from HEAD).
    while (this.ended.size > 4 * this.limits.maxUploads) {
      let oldest: string | undefined;
      for (const [id, entry] of this.ended) {
        if (entry.upload.phase !== 'completed') {
          oldest = id;
          break;
        }
      }
      this.ended.delete(oldest ?? this.ended.keys().next().value!);
    }
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, { forgetAt }] of this.ended) {
      if (forgetAt > now) break;
      this.ended.delete(id);
    }
  }
}
