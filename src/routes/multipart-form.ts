import type { Readable } from 'node:stream';
import type { MultipartFile, MultipartValue, Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { BridgeError, Errors } from '../errors.js';
import type { Admission } from '../admission/upload-admission.js';
import { buildRequest, MAX_TAGS, type BuildRequest } from '../builds/build-request.js';
import { digestFromHexField, type ExpectedDigest } from '../upload/digests.js';
import { queryName, validateName } from '../upload/names.js';
import type { FormBody, UploadForm } from '../upload/pipeline.js';

/** Long enough for a build name and 16 tags of 128 characters in one field. */
const FIELD_SIZE_BYTES = 4096;

/** @fastify/multipart's limits for an upload form whose archive may be `maxContextBytes`. */
export function multipartLimits(maxContextBytes: number) {
  return {
    // One past the limit, so our own counter (which knows the archive size) reports 413 first.
    fileSize: maxContextBytes + 1,
    files: 1,
    // Room for `tags` repeated once per tag.
    fields: 8 + MAX_TAGS,
    fieldSize: FIELD_SIZE_BYTES,
    fieldNameSize: 100,
    parts: 10 + MAX_TAGS,
    headerPairs: 16,
  };
}

const MULTIPART_FIELDS = ['name', 'expectedSizeBytes', 'sha256', 'build', 'tags'] as const;
/** The fields a form may also send after its file part. */
const AFTER_FILE_FIELDS: ReadonlySet<string> = new Set(['build', 'tags']);
type MultipartFields = Partial<Record<Exclude<(typeof MULTIPART_FIELDS)[number], 'tags'>, string>> & { tags?: string[] };
type Part = MultipartFile | MultipartValue | Multipart;

export interface MultipartFormOptions {
  maxContextBytes: number;
  idleTimeoutMs: number;
  /** The query, whose `?name=` is read only when the form names no file. */
  query: Record<string, unknown>;
  /** `?build=&tags=` */
  queryBuild: BuildRequest | undefined;
}

/**
 * A multipart form: text fields, then the `file` part (the archive), then
 * only `build` and `tags` (`curl -F file=@ctx.tar.gz -F build=app` sends them
 * last). Text fields other than MULTIPART_FIELDS are ignored, never refused:
 * form clients add their own (Uppy's XHR upload sends `name` and `type`
 * before the file, others `relativePath`).
 */
export class MultipartForm implements UploadForm, FormBody {
  readonly mode = 'multipart';
  source!: Readable;
  name = '';
  expectedSizeBytes = 0;
  digests: ExpectedDigest[] = [];
  private readonly fields: MultipartFields = {};
  private file: MultipartFile | undefined;
  private parts: FormParts | undefined;
  private admission!: Admission;
  /** The build fields as they were before the file, to tell whether the ones after it changed them. */
  private beforeFile: { build: string | undefined; tags: number | undefined } | undefined;

  constructor(
    private readonly request: FastifyRequest,
    private readonly options: MultipartFormOptions,
  ) {}

  get build(): BuildRequest | undefined {
    return this.options.queryBuild;
  }

  readonly sourceError = (err: unknown): BridgeError => toMultipartError(err, this.options.maxContextBytes);

  async open(admission: Admission, signal: AbortSignal): Promise<FormBody> {
    const { fields, options } = this;
    this.admission = admission;
    const parts = this.parts = new FormParts(this.request.parts()[Symbol.asyncIterator](), options.idleTimeoutMs, this.sourceError, signal);
    for (let part = await parts.next(); !part.done; part = await parts.next()) {
      if (part.value.type === 'file') {
        this.file = part.value;
        break;
      }
      this.readField(part.value);
    }
    // Before the file part's first byte is read, let alone forwarded.
    this.requestBuild();
    this.beforeFile = { build: fields.build, tags: fields.tags?.length };
    const file = this.file;
    if (!file) throw Errors.missingFilePart();
    if (file.fieldname !== 'file') throw Errors.unexpectedPart(`The file part is named "${file.fieldname}", not "file"`);
    this.name = validateName(fields.name ?? queryName(options.query) ?? file.filename ?? '');
    this.expectedSizeBytes = fields.expectedSizeBytes === undefined ? 0 : parseSize(fields.expectedSizeBytes);
    if (this.expectedSizeBytes > options.maxContextBytes) throw Errors.tooLarge(options.maxContextBytes);
    this.digests = digestFromHexField(fields.sha256);
    this.source = file.file;
    return this;
  }

  check(): void {
    if (this.file!.file.truncated) throw Errors.tooLarge(this.options.maxContextBytes);
  }

  /**
   * The fields after the file matter only once the context is stored, so they
   * are read here, before the half-close. Anything that shapes the upload
   * itself after the file is refused.
   */
  async readRest(): Promise<void> {
    const fields = this.fields;
    const parts = this.parts!;
    for (let after = await parts.next(); !after.done; after = await parts.next()) {
      if (after.value.type === 'file') throw Errors.unexpectedPart('A second file part follows the first');
      if (!AFTER_FILE_FIELDS.has(after.value.fieldname)) {
        if ((MULTIPART_FIELDS as readonly string[]).includes(after.value.fieldname)) throw Errors.unexpectedPart(`The field "${after.value.fieldname}" comes after the file part`);
        this.request.log.debug({ field: after.value.fieldname }, 'multipart text field ignored');
        continue;
      }
      this.readField(after.value);
    }
    parts.close();
    if (fields.build !== this.beforeFile!.build || fields.tags?.length !== this.beforeFile!.tags) this.requestBuild();
  }

  close(): void {
    this.parts?.close();
  }

  private requestBuild(): void {
    const { fields } = this;
    if (fields.build === undefined && fields.tags === undefined) return;
    if (this.options.queryBuild) throw Errors.invalidBuild('the build is given both in the query and in the form: give it once');
    this.admission.requestBuild(buildRequest(fields.build, fields.tags), 'body');
  }

  private readField(part: Part): void {
    const field = part as MultipartValue<string>;
    const fields = this.fields;
    if (!(MULTIPART_FIELDS as readonly string[]).includes(field.fieldname)) {
      this.request.log.debug({ field: field.fieldname }, 'multipart text field ignored');
      return;
    }
    if (field.valueTruncated) throw Errors.malformedMultipart(`the field ${field.fieldname} is longer than ${FIELD_SIZE_BYTES} bytes`);
    if (field.fieldname === 'tags') {
      (fields.tags ??= []).push(String(field.value));
      return;
    }
    if (fields[field.fieldname as keyof MultipartFields] !== undefined) {
      throw Errors.unexpectedPart(`The field "${field.fieldname}" is given twice`);
    }
    fields[field.fieldname as Exclude<keyof MultipartFields, 'tags'>] = String(field.value);
  }
}

/**
 * The form's parts, each awaited for at most the idle timeout: the fields and
 * the form's end are read outside the body reader's idle timer, and a client
 * that stalls there must not hold its slot (and an open upstream call)
 * forever. One timer for the form, refreshed per part.
 */
class FormParts {
  private timer: NodeJS.Timeout | undefined;
  private waiting: ((err: unknown) => void) | undefined;

  constructor(
    private readonly parts: AsyncIterator<Part>,
    private readonly idleTimeoutMs: number,
    private readonly toError: (err: unknown) => BridgeError,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  async next(): Promise<IteratorResult<Part>> {
    this.signal.throwIfAborted();
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(this.onIdle, this.idleTimeoutMs).unref();
    try {
      return await new Promise<IteratorResult<Part>>((resolve, reject) => {
        this.waiting = reject;
        this.parts.next().then(resolve, (err: unknown) => reject(this.toError(err)));
      });
    } finally {
      this.waiting = undefined;
    }
  }

  /** The form's end was read. */
  close(): void {
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
  }

  private readonly onIdle = (): void => this.waiting?.(Errors.idleTimeout(this.idleTimeoutMs));
  private readonly onAbort = (): void => this.waiting?.(this.signal.reason);
}

function parseSize(value: string): number {
  const size = /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(size)) {
    throw Errors.malformedMultipart(`the field expectedSizeBytes is ${JSON.stringify(value)}, not a byte count`);
  }
  return size;
}

/** @fastify/multipart and busboy errors as the refusals the client gets. */
function toMultipartError(err: unknown, maxBytes: number): BridgeError {
  if (err instanceof BridgeError) return err;
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE': return Errors.tooLarge(maxBytes);
    case 'FST_FILES_LIMIT': return Errors.unexpectedPart('A second file part follows the first');
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT': return Errors.unexpectedPart('The form has too many parts');
    case 'FST_MP_PREMATURE_CLOSE':
    case 'ECONNRESET': return Errors.clientAborted();
    default: return Errors.malformedMultipart(e.message ?? 'unreadable');
  }
}
