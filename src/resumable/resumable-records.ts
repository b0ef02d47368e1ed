import type { BuildStep } from './resumable-build.js';
import type { Answer, ResumableSpec } from './resumable-upload.js';

/** What every replica knows of a resumable upload, from its creation on. */
export type RecordSpec = Omit<ResumableSpec, 'createdAt'> & { createdAt: number };

/** The replica holding an upload's call: where to reach it, and which process it is (a restarted one is another). */
export interface RecordOwner {
  /** `http://host:port` that other replicas can reach. */
  address: string;
  /** Random per process: a replica restarted at the same address does not hold the upload. */
  instance: string;
}

/** How an upload ended, as every replica answers for it afterwards (200, 410, 404, 423). */
export type RecordEnd =
  | { answer: Answer; offset: number; expiresAt: number }
  | { gone: { code: string; message: string } }
  | { terminated: true }
  | { unknown: { message: string } };

export interface UploadRecord {
  spec: RecordSpec;
  /** Until a replica claims it: when it expires without a first PATCH. */
  expiresAt: number;
  owner?: RecordOwner;
  /** When its owner was about to half-close its call: from then on its outcome is the upstream's, never "nothing stored". */
  sentAt?: number;
  end?: RecordEnd;
  /** The build step of a completed upload that asked for one: "build sent", then its outcome. */
  build?: BuildStep;
}

/**
 * Resumable uploads' records in the store that replicas share. Every write
 * sets the record's lifetime; commands fail fast with SHARED_STATE_UNAVAILABLE,
 * and a write that reaches the store after its timeout is not applied.
 */
export interface ResumableRecordStore {
  /** A new record, unclaimed, or already owned (creation with upload), living `ttlMs`. */
  create(record: UploadRecord, ttlMs: number): Promise<void>;
  read(id: string): Promise<UploadRecord | undefined>;
  /**
   * Atomic: makes `owner` the owner of an unclaimed, unexpired record (its
   * lifetime then `ttlMs`). Answers the record as it is afterwards: owned by
   * `owner` when the claim won, else as another request left it.
   */
  claim(id: string, owner: RecordOwner, now: number, ttlMs: number): Promise<UploadRecord | undefined>;
  /** Atomic: ends an unclaimed, unexpired record with `end`; answers the record as it is afterwards. */
  endUnclaimed(id: string, end: RecordEnd, now: number, ttlMs: number): Promise<UploadRecord | undefined>;
  /** The owner records how the upload ended (kept `ttlMs`); false when `owner` no longer owns it. */
  finish(id: string, owner: RecordOwner, end: RecordEnd, ttlMs: number): Promise<boolean>;
  /** The owner, about to half-close, marks the record "sent" (kept `ttlMs`, not renewed); false when `owner` no longer owns it. */
  markSent(id: string, owner: RecordOwner, now: number, ttlMs: number): Promise<boolean>;
  /**
   * The owner, about to call CreateBuild, marks the record "build sent"
   * (kept `ttlMs`); false when `owner` no longer owns it or a build step is
   * already recorded: then no build may be started.
   */
  markBuildSent(id: string, owner: RecordOwner, step: BuildStep, ttlMs: number): Promise<boolean>;
  /** The owner records the build step's outcome (kept `ttlMs`); false when `owner` no longer owns it. */
  finishBuild(id: string, owner: RecordOwner, step: BuildStep, ttlMs: number): Promise<boolean>;
  /**
   * Undoes a claim whose answer the owner never saw (its command timed out
   * but landed): the record is unclaimed again, unless it was sent or ended.
   */
  unclaim(id: string, owner: RecordOwner, ttlMs: number): Promise<boolean>;
}
