import { randomUUID } from 'node:crypto';
import type { StatusBody } from '../errors.js';

/** `unknown`: the archive was sent completely and the upstream never answered; it may or may not be stored. */
export type ImportState = 'pending' | 'running' | 'succeeded' | 'failed' | 'unknown';

export interface ImportStatus {
  importId: string;
  status: ImportState;
  /** The stored context; with `build` (the API's answer) once a build asked for started. */
  result?: { contextId: string; sizeBytes: string; build?: unknown };
  /** Why it failed; a failed import with a `result` stored its context, and its build did not start (424's body). */
  error?: StatusBody;
}

export type ImportOutcome = Pick<ImportStatus, 'result' | 'error'> & { unknown?: boolean };

/**
 * Where asynchronous imports are kept for polling: this replica's memory, or
 * a store every replica reads (Redis). The replica that runs a job keeps it
 * alive there; a job whose replica died reads `failed`, or `unknown` once it
 * had reached its half-close, never `running` forever. The ID is random, so
 * knowing it is what grants reading the status.
 */
export interface ImportJobStore {
  /** A new job, run by this replica from now on (`running`). Throws when the store is unreachable. */
  create(): Promise<ImportStatus>;
  /**
   * The archive arrived whole and the call is about to be half-closed: a lost
   * replica now means `unknown`. Throws when that cannot be recorded, or other
   * replicas may already report the job failed: the call is then not committed.
   */
  halfClosing(id: string): Promise<void>;
  /** Records the job's result, kept until it expires. Never rejects: while the store is unreachable it retries in the background. */
  finish(id: string, outcome: ImportOutcome): Promise<void>;
  get(id: string): Promise<ImportStatus | undefined>;
}

/** Finished jobs are kept this long. */
export const IMPORT_RESULT_TTL_MS = 24 * 60 * 60 * 1000;

export const newImportId = (): string => `imp_${randomUUID()}`;

export const finishedStatus = (importId: string, { unknown = false, ...outcome }: ImportOutcome): ImportStatus =>
  ({ importId, status: unknown ? 'unknown' : outcome.error ? 'failed' : 'succeeded', ...outcome });

/**
 * This replica's memory: at most `max` jobs, the oldest finished ones
 * forgotten first; finished ones also expire after `ttlMs`.
 */
export class ImportJobs implements ImportJobStore {
  private readonly jobs = new Map<string, { status: ImportStatus; finishedAt?: number }>();

  constructor(
    private readonly max = 1000,
    private readonly ttlMs = IMPORT_RESULT_TTL_MS,
  ) {}

  async create(): Promise<ImportStatus> {
    this.evict();
    const status: ImportStatus = { importId: newImportId(), status: 'running' };
    this.jobs.set(status.importId, { status });
    return status;
  }

  /** One process: the job cannot outlive its replica, so there is nothing to record. */
  async halfClosing(): Promise<void> {}

  async finish(id: string, outcome: ImportOutcome): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return;
    job.status = finishedStatus(id, outcome);
    job.finishedAt = Date.now();
  }

  async get(id: string): Promise<ImportStatus | undefined> {
    const job = this.jobs.get(id);
    if (job?.finishedAt !== undefined && Date.now() - job.finishedAt > this.ttlMs) {
      this.jobs.delete(id);
      return undefined;
    }
    return job?.status;
  }

  private evict(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size < this.max) return;
      if (job.finishedAt !== undefined) this.jobs.delete(id);
    }
  }
}
