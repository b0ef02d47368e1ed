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

export class IncomingContext {
  readonly stream: WriteStream;
  private done = false;

  constructor(private readonly dir: string, private readonly tempPath: string) {
    this.stream = createWriteStream(tempPath, { flags: 'wx', highWaterMark: 1024 * 1024 });
  }

  /**
   * fsync, then rename into place beside its JSON record. `stillWanted` is
   * asked again right before the rename: a reset stream can look like a clean
   * end for a moment, and its cancel must win over the commit.
   */
  async commit(record: Omit<ContextRecord, 'contextId' | 'createdAt'>, stillWanted: () => boolean = () => true): Promise<ContextRecord> {
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
    const recordTemp = join(this.dir, `${TEMP_PREFIX}${contextId}.json`);
    try {
      await writeFile(recordTemp, JSON.stringify(full, null, 2) + '\n', { flag: 'wx' });
      if (this.done || !stillWanted()) throw new Error('the upload was cancelled before it was committed');
      this.done = true;
      await rename(this.tempPath, join(this.dir, contextId));
      await rename(recordTemp, join(this.dir, `${contextId}.json`));
    } catch (err) {
      await unlink(recordTemp).catch(() => {});
      await unlink(this.tempPath).catch(() => {});
      throw err;
    }
    return full;
  }

  /** Drops the partial file; safe to call more than once. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.stream.closed) {
      const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      this.stream.destroy();
      await closed;
    }
    await unlink(this.tempPath).catch(() => {});
  }
}
