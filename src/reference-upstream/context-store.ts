import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, unlink, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';

const TEMP_PREFIX = '.incoming-';

export interface ContextRecord {
  contextId: string;
  name: string;
  contentType: string;
  sizeBytes: string;
  sha256: string;
  createdAt: string;
}

/**
 * Stores contexts as IGNITE_DATA_DIR/contexts/<context_id> beside
 * <context_id>.json. Bytes go to a temp file first and are renamed into place
 * only after an fsync on a clean end, so a reader never sees a partial archive.
 * Names are metadata only: a path is only ever built from a generated id.
 */
export class ContextStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'contexts');
  }

  /** Creates the directory and removes temp files a crash left behind. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const entry of await readdir(this.dir)) {
      if (entry.startsWith(TEMP_PREFIX)) await unlink(join(this.dir, entry)).catch(() => {});
    }
  }

  begin(): IncomingContext {
    return new IncomingContext(this.dir, join(this.dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`));
  }

  path(contextId: string): string {
    return join(this.dir, contextId);
  }
}

/** Thrown by commit() when the call was cancelled while it was being committed. */
export class CommitCancelledError extends Error {
  override name = 'CommitCancelledError';
}

export class IncomingContext {
  readonly stream: WriteStream;
  private readonly recordTempPath: string;
  private state: 'writing' | 'committing' | 'done' | 'discarded' = 'writing';
  private cancelRequested = false;
  private committing: Promise<unknown> | undefined;

  constructor(private readonly dir: string, private readonly tempPath: string) {
    this.stream = createWriteStream(tempPath, { flags: 'wx', highWaterMark: 1024 * 1024 });
    this.recordTempPath = `${tempPath}.json`;
  }

  /**
   * fsync, then rename into place beside its JSON record. A gRPC server sees
   * the end of a reset stream as a half-close first and the cancel only a
   * moment later, so the cancel is checked once more just before the rename.
   */
  commit(record: Omit<ContextRecord, 'contextId' | 'createdAt'>, stillWanted: () => boolean = () => true): Promise<ContextRecord> {
    this.state = 'committing';
    const committing = this.writeAndRename(record, stillWanted).then((full) => {
      this.state = 'done';
      return full;
    }, async (err: unknown) => {
      await this.discard();
      throw err;
    });
    this.committing = committing.catch(() => {});
    return committing;
  }

  private async writeAndRename(record: Omit<ContextRecord, 'contextId' | 'createdAt'>, stillWanted: () => boolean): Promise<ContextRecord> {
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
    const handle = await open(this.tempPath, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const contextId = `ctx_${ulid()}`;
    const full: ContextRecord = { contextId, ...record, createdAt: new Date().toISOString() };
    await writeFile(this.recordTempPath, JSON.stringify(full, null, 2) + '\n', { flag: 'wx' });
    if (this.cancelRequested || !stillWanted()) throw new CommitCancelledError('the call was cancelled before the context was stored');
    await rename(this.tempPath, join(this.dir, contextId));
    await rename(this.recordTempPath, join(this.dir, `${contextId}.json`));
    return full;
  }

  /** Drops the partial file (or stops a commit still in progress); safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state === 'committing') {
      this.cancelRequested = true;
      await this.committing;
      return;
    }
    if (this.state === 'writing') await this.discard();
  }

  private async discard(): Promise<void> {
    if (this.state === 'discarded') return;
    this.state = 'discarded';
    if (!this.stream.closed) {
      const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      this.stream.destroy();
      await closed;
    }
    await unlink(this.tempPath).catch(() => {});
    await unlink(this.recordTempPath).catch(() => {});
  }
}
