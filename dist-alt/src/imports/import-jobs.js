import { randomUUID } from 'node:crypto';
/** Finished jobs are kept this long. */
export const IMPORT_RESULT_TTL_MS = 24 * 60 * 60 * 1000;
export const newImportId = () => `imp_${randomUUID()}`;
export const finishedStatus = (importId, { unknown = false, ...outcome }) => ({ importId, status: unknown ? 'unknown' : outcome.error ? 'failed' : 'succeeded', ...outcome });
/**
 * This replica's memory: at most `max` jobs, the oldest finished ones
 * forgotten first; finished ones also expire after `ttlMs`.
 */
export class ImportJobs {
    max;
    ttlMs;
    jobs = new Map();
    constructor(max = 1000, ttlMs = IMPORT_RESULT_TTL_MS) {
        this.max = max;
        this.ttlMs = ttlMs;
    }
    async create() {
        this.evict();
        const status = { importId: newImportId(), status: 'running' };
        this.jobs.set(status.importId, { status });
        return status;
    }
    /** One process: the job cannot outlive its replica, so there is nothing to record. */
    async halfClosing() { }
    async finish(id, outcome) {
        const job = this.jobs.get(id);
        if (!job)
            return;
        job.status = finishedStatus(id, outcome);
        job.finishedAt = Date.now();
    }
    async get(id) {
        const job = this.jobs.get(id);
        if (job?.finishedAt !== undefined && Date.now() - job.finishedAt > this.ttlMs) {
            this.jobs.delete(id);
            return undefined;
        }
        return job?.status;
    }
    evict() {
        for (const [id, job] of this.jobs) {
            if (this.jobs.size < this.max)
                return;
            if (job.finishedAt !== undefined)
                this.jobs.delete(id);
        }
    }
}
//# sourceMappingURL=import-jobs.js.map