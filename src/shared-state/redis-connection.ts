import { Redis, ReplyError } from 'ioredis';
import { Errors } from '../errors.js';

/** The two log levels the connection uses (Fastify's logger, or a test's recorder). */
export interface StateLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What /readyz reports: connecting (never reached yet), ready, or unavailable (down, refused, or not answering). */
export type RedisState = 'ready' | 'connecting' | 'unavailable';

/** A command not answered within this is a 503 for its request, never a wait. */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * Redis refusing writes it will accept again later: out of memory under noeviction, loading, a replica, busy with a script;
 * or a script that ran after its deadline (see DEADLINE_GUARD).
 */
const TRANSIENT_REPLY = /^(OOM|LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|DEADLINE)\b/;

/**
 * The first lines of every script that writes: it refuses (a DEADLINE error) once Redis's own
 * clock is past the caller's deadline, passed as the script's LAST argument (`deadline()`).
 * A command that sat in a stalled Redis's input buffer past its timeout, whose request was
 * already answered 503, so never lands later.
 */
export const DEADLINE_GUARD = `
local deadline_now = redis.call('TIME')
if tonumber(deadline_now[1]) * 1000 + math.floor(tonumber(deadline_now[2]) / 1000) > tonumber(ARGV[#ARGV]) then
  return redis.error_reply('DEADLINE the command reached Redis after its timeout and was not applied')
end
`;

/**
 * The one Redis client the shared stores use, set up to fail fast: no
 * offline queue and no re-sending after a reconnect (a command the bridge
 * already answered 503 for must never be written later), no retries per
 * command, a bounded command timeout; reconnects with backoff run in the
 * background. `run` turns any failure to reach Redis into the 503
 * SHARED_STATE_UNAVAILABLE.
 */
export class RedisConnection {
  readonly client: Redis;
  /** Where it connects, without credentials, for logs. */
  readonly address: string;
  private failing = false;
  /** Redis's clock minus ours (ms), measured on every connect, so deadlines are read on Redis's clock. */
  private clockOffsetMs = 0;
  /** A command timed out on an open connection: Redis is stalled, not gone. */
  private stalled = false;
  private closing = false;
  private readonly recovered = new Set<() => void>();

  constructor(url: string, private readonly log: StateLog) {
    const parsed = new URL(url);
    this.address = `${parsed.protocol}//${parsed.host}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      // Commands in flight when the connection drops fail at once instead of waiting for a reconnect.
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100),
      connectionName: 'ignite-upload-bridge',
    });
    this.client.on('ready', () => {
      if (this.failing || this.stalled) this.log.info({ redis: this.address }, 'Redis is reachable again: Idempotency-Keys and import status are served');
      else this.log.info({ redis: this.address }, 'connected to Redis (shared state for Idempotency-Keys and imports)');
      this.failing = false;
      this.stalled = false;
      void this.measureClockOffset();
    });
    // One warning per outage: reconnect attempts fail every few seconds and would flood the log.
    this.client.on('error', (err: Error) => {
      if (this.client.status === 'ready') return;
      this.unavailable(err.message);
    });
    this.client.on('close', () => {
      if (!this.closing) this.unavailable('connection closed');
    });
  }

  get state(): RedisState {
    if (this.client.status === 'ready') {
      if (this.stalled) void this.run((c) => c.ping()).catch(() => {});
      return this.stalled ? 'unavailable' : 'ready';
    }
    return this.failing ? 'unavailable' : 'connecting';
  }

  /** Runs commands; a Redis that cannot answer becomes SHARED_STATE_UNAVAILABLE (503, Retry-After). */
  async run<T>(commands: (client: Redis) => Promise<T>): Promise<T> {
    try {
      const result = await commands(this.client);
      if (this.stalled) {
        this.stalled = false;
        this.log.info({ redis: this.address }, 'Redis answers again');
        for (const listener of this.recovered) listener();
      }
      return result;
    } catch (err) {
      if (err instanceof ReplyError && !TRANSIENT_REPLY.test((err as Error).message)) throw err;
      if ((err as Error).message === 'Command timed out' && !this.stalled && this.client.status === 'ready') {
        this.stalled = true;
        this.log.warn({ redis: this.address }, `Redis did not answer within ${REDIS_COMMAND_TIMEOUT_MS} ms: requests that need shared state get 503 until it does`);
      }
      throw Errors.sharedStateUnavailable(err);
    }
  }

  /** Called when Redis answers again after a stall (a reconnect emits the client's 'ready' instead). */
  onRecovered(listener: () => void): void {
    this.recovered.add(listener);
  }

  offRecovered(listener: () => void): void {
    this.recovered.delete(listener);
  }

  /**
   * The last argument of a DEADLINE_GUARD script: the moment, on Redis's clock, after which the
   * command must not run, because this side has given up on it (its timeout has passed).
   */
  deadline(): number {
    return Date.now() + this.clockOffsetMs + REDIS_COMMAND_TIMEOUT_MS;
  }

  private async measureClockOffset(): Promise<void> {
    try {
      const before = Date.now();
      const [seconds, micros] = await this.client.time();
      const after = Date.now();
      this.clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - Math.round((before + after) / 2);
    } catch { /* the next connect measures again */ }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.client.removeAllListeners('error');
    this.client.on('error', () => {});
    try {
      if (this.client.status === 'ready') await this.client.quit();
    } catch { /* closing anyway */ }
    this.client.disconnect();
  }

  private unavailable(reason: string): void {
    if (this.failing) return;
    this.failing = true;
    this.log.warn({ redis: this.address, reason },
      `Redis at ${this.address} is unreachable (${reason}): requests with an Idempotency-Key and async imports get 503 until it is back; plain uploads go on; reconnecting in the background`);
  }
}
