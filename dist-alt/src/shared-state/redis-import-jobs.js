import { Errors } from '../errors.js';
import { finishedStatus, IMPORT_RESULT_TTL_MS, newImportId } from '../imports/import-jobs.js';
import { importAliveKey, importKey } from './keys.js';
import { DEADLINE_GUARD } from './redis-connection.js';
// Every script that writes starts with the deadline guard; its deadline is the last ARGV.
/** KEYS: job, alive. ARGV: status JSON, job TTL, heartbeat lease. */
const CREATE = `${DEADLINE_GUARD}
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'phase', 'receiving')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 1`;
/** Only a job whose heartbeat is still alive may go on to its half-close. ARGV: heartbeat lease. */
const HALF_CLOSING = `${DEADLINE_GUARD}
if redis.call('PEXPIRE', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'awaiting')
return 1`;
/** ARGV: status JSON, job TTL. */
const FINISH = `${DEADLINE_GUARD}
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'phase', 'finished')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1`;
/** A heartbeat that lapsed stays lapsed: other replicas may already have read the job failed. ARGV: heartbeat lease. */
const BEAT = `${DEADLINE_GUARD}
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
return 1`;
const READ = `
return {redis.call('HGET', KEYS[1], 'status'), redis.call('HGET', KEYS[1], 'phase'), redis.call('EXISTS', KEYS[2])}`;
function defineCommands(client) {
    if (typeof client.igniteImportBeat === 'function')
        return;
    client.defineCommand('igniteImportCreate', { numberOfKeys: 2, lua: CREATE });
    client.defineCommand('igniteImportHalfClosing', { numberOfKeys: 2, lua: HALF_CLOSING });
    client.defineCommand('igniteImportFinish', { numberOfKeys: 2, lua: FINISH });
    client.defineCommand('igniteImportBeat', { numberOfKeys: 1, lua: BEAT });
    client.defineCommand('igniteImportRead', { numberOfKeys: 2, lua: READ, readOnly: true });
}
/**
 * Async imports in Redis: any replica reads a job's status and result. The
 * replica running a job keeps its heartbeat key alive (PX = `leaseMs`,
 * renewed every third of it); a job still `running` without a heartbeat
 * reads `failed` (its archive was never half-closed) or `unknown` (it was).
 * A write that timed out never lands later (the deadline guard), and what it
 * meant is settled by the runner itself: a half-close mark that failed
 * cancels the call, and the job's `failed` result is then written on the
 * next beats until Redis takes it.
 */
export class RedisImportJobs {
    redis;
    leaseMs;
    log;
    ttlMs;
    running = new Map();
    constructor(redis, leaseMs, log, ttlMs = IMPORT_RESULT_TTL_MS) {
        this.redis = redis;
        this.leaseMs = leaseMs;
        this.log = log;
        this.ttlMs = ttlMs;
        defineCommands(redis.client);
    }
    async create() {
        const status = { importId: newImportId(), status: 'running' };
        const id = status.importId;
        await this.redis.run((c) => c.igniteImportCreate(importKey(id), importAliveKey(id), JSON.stringify(status), this.ttlMs, this.leaseMs, this.redis.deadline()));
        const timer = setInterval(() => void this.beat(id), Math.floor(this.leaseMs / 3));
        timer.unref();
        this.running.set(id, { timer, lost: false });
        return status;
    }
    async halfClosing(id) {
        const job = this.running.get(id);
        const alive = job && !job.lost
            && (await this.redis.run((c) => c.igniteImportHalfClosing(importKey(id), importAliveKey(id), this.leaseMs, this.redis.deadline()))) === 1;
        if (!alive) {
            if (job)
                job.lost = true;
            throw Errors.importLeaseLost();
        }
    }
    async finish(id, outcome) {
        const job = this.running.get(id);
        if (!job)
            return;
        job.unwritten = JSON.stringify(finishedStatus(id, outcome));
        await this.beat(id);
    }
    async get(id) {
        const [json, phase, alive] = await this.redis.run((c) => c.igniteImportRead(importKey(id), importAliveKey(id)));
        if (json === null)
            return undefined;
        const status = JSON.parse(json);
        if (status.status !== 'running' || phase === 'finished' || alive === 1)
            return status;
        // Its replica stopped renewing the heartbeat: it died, or lost Redis for longer than the lease.
        return phase === 'awaiting'
            ? { importId: id, status: 'unknown', error: Errors.importOutcomeLost().toStatus() }
            : { importId: id, status: 'failed', error: Errors.importReplicaLost().toStatus() };
    }
    /** Stops every heartbeat (at shutdown): jobs still running then read failed or unknown once their lease runs out. */
    close() {
        for (const job of this.running.values())
            clearInterval(job.timer);
        this.running.clear();
    }
    async beat(id) {
        const job = this.running.get(id);
        if (!job)
            return;
        try {
            if (job.unwritten !== undefined) {
                await this.redis.run((c) => c.igniteImportFinish(importKey(id), importAliveKey(id), job.unwritten, this.ttlMs, this.redis.deadline()));
                clearInterval(job.timer);
                this.running.delete(id);
            }
            else if ((await this.redis.run((c) => c.igniteImportBeat(importAliveKey(id), this.leaseMs, this.redis.deadline()))) === 0) {
                job.lost = true;
            }
        }
        catch (err) {
            // Redis is unreachable: the next beat tries again; a result stays queued until Redis takes it.
            if (job.unwritten !== undefined && !job.warned) {
                job.warned = true;
                this.log.warn({ importId: id, err }, 'recording the import\'s result in Redis failed; retrying on every heartbeat until Redis takes it');
            }
        }
    }
}
//# sourceMappingURL=redis-import-jobs.js.map