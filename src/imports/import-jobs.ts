import { randomUUID } from 'node:crypto';
import type { StatusBody } from '../errors.js';

/** `unknown`: the archive was sent completely and the upstream never answered; it may or may not be stored. */
export type ImportState = 'pending' | 'running' | 'succeeded' | 'failed' | 'unknown';

export interface ImportStatus {
  importId: string;
  status: ImportState;
  result?: { contextId: string; sizeBytes: string };
  error?: StatusBody;
}

/**
 * Asynchronous imports of this replica, for polling: at most `max` are kept,
 * the oldest finished ones forgotten first; finished ones also expire after
 * `ttlMs`. The ID is random, so knowing it is what grants reading the status.
 */
export class ImportJobs {
  private readonly jobs = new Map<string, { status: ImportStatus; finishedAt?: number }>();

  constructor(
    private readonly max = 1000,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
  ) {}

  create(): ImportStatus {
    this.evict();
    const status: ImportStatus = { importId: `imp_${randomUUID()}`, status: 'pending' };
    this.jobs.set(status.importId, { status });
    return status;
  }

  running(id: string): void {
    const job = this.jobs.get(id);
    if (job) job.status.status = 'running';
  }

  finish(id: string, { unknown = false, ...outcome }: Pick<ImportStatus, 'result' | 'error'> & { unknown?: boolean }): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.status = { importId: id, status: unknown ? 'unknown' : outcome.error ? 'failed' : 'succeeded', ...outcome };
    job.finishedAt = Date.now();
  }

  get(id: string): ImportStatus | undefined {
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
