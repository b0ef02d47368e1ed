import type { FastifyReply, FastifyRequest } from 'fastify';
import { BridgeError, Errors, GrpcCode } from '../errors.js';
import type { UploadGate } from '../upload/upload-gate.js';
import { OWNER_HOP_HEADER, type OwnerForwarding } from './owner-forwarding.js';
import type { RecordEnd, RecordOwner, RecordSpec, ResumableRecordStore, UploadRecord } from './resumable-records.js';
import type { ResumableSpec, ResumableTimes, ResumableUpload } from './resumable-upload.js';
import { newUploadId, type ResumableUploads } from './resumable-uploads.js';
import { byteCount, httpDate } from './tus-protocol.js';

export interface SharedUploadsOptions {
  uploads: ResumableUploads;
  records: ResumableRecordStore;
  forwarding: OwnerForwarding;
  gate: UploadGate;
  times: ResumableTimes;
  /** This replica as an owner: its process instance and the address others reach it at (known once it listens). */
  self: () => RecordOwner;
  /** The credential scope of a request (as at creation). */
  scopeOf: (request: FastifyRequest) => string;
  log: { warn(fields: object, message: string): void };
}

/** A created upload no replica holds yet: what the creation's answer needs. */
export interface UnclaimedUpload {
  id: string;
  offset: number;
  expiresAt: number;
}

const METHODS = new Set(['HEAD', 'PATCH', 'DELETE']);
const PUBLISH_RETRY_MS = 1000;
const PUBLISH_ATTEMPTS = 30;

/**
 * Resumable uploads across replicas (REDIS_URL): the record of every upload
 * lives in the shared store from its creation; the replica that receives
 * its first PATCH claims it atomically, opens the call and holds it; every
 * other replica forwards the upload's requests to that owner. What the
 * owner's upload ends with (its answer, or why it is gone) is written back
 * to the record, so any replica answers for it afterwards.
 */
export class SharedResumableUploads {
  /** Claims under way here: a second request for the upload waits for the first's to be held. */
  private readonly claiming = new Map<string, Promise<void>>();
  /** Ends still being written to the store, per upload: a newer end is written after the one in flight. */
  private readonly publishing = new Map<string, { again: boolean }>();

  constructor(private readonly o: SharedUploadsOptions) {}

  /** Creation: the record, unclaimed; or, when the creation carries the first bytes, claimed by this replica and held. */
  async create(spec: Omit<ResumableSpec, 'id' | 'createdAt'>, withBody: boolean): Promise<ResumableUpload | UnclaimedUpload> {
    this.o.uploads.assertRoom(spec.capKey);
    const now = Date.now();
    const { expiryMs, maxLifetimeMs } = this.o.times;
    const record: UploadRecord = { spec: { ...spec, id: newUploadId(), createdAt: now }, expiresAt: now + Math.min(expiryMs, maxLifetimeMs) };
    if (!withBody) {
      await this.o.records.create(record, record.expiresAt - now + expiryMs);
      return { id: record.spec.id, offset: 0, expiresAt: record.expiresAt };
    }
    const owner = this.o.self();
    await this.o.records.create({ ...record, owner }, this.ownedTtl());
    return this.hold(record.spec, owner);
  }

  /**
   * The preHandler of an upload's routes: lets a request through to the
   * route when this replica holds the upload (claiming it for a first
   * PATCH); answers it from the record, or forwards it to the owner,
   * otherwise.
   */
  async route(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const id = (request.params as { id?: string }).id;
    const method = request.method === 'POST' ? String(request.headers['x-http-method-override'] ?? '').toUpperCase() : request.method;
    if (id === undefined || !METHODS.has(method)) return undefined;
    // A request another replica forwarded here may arrive before this replica's own winning claim is held.
    await this.claiming.get(id);
    const hop = request.headers[OWNER_HOP_HEADER];
    if (hop !== undefined) {
      // Forwarded here by another replica: served from this process's memory, or refused, never forwarded on.
      if (hop === this.o.self().instance && this.o.uploads.has(id)) return undefined;
      throw Errors.uploadOwnerGone(hop === this.o.self().instance ? 'no longer has it' : 'restarted');
    }
    if (this.o.uploads.has(id)) return undefined;
    return this.dispatch(request, reply, method, id, await this.o.records.read(id));
  }

  private async dispatch(request: FastifyRequest, reply: FastifyReply, method: string, id: string, record: UploadRecord | undefined): Promise<FastifyReply | undefined> {
    if (!record || (record.spec.scope !== 'anonymous' && record.spec.scope !== this.o.scopeOf(request))) throw Errors.uploadNotFound();
    if (record.end) return answerEnded(request, reply, method, record.end, record.spec);
    if (record.owner) {
      const self = this.o.self();
      if (record.owner.instance === self.instance) {
        // Claimed here by a request that ran alongside this one.
        await this.claiming.get(id);
        if (this.o.uploads.has(id)) return undefined;
        throw Errors.uploadOwnerGone('(this one) no longer has it');
      }
      if (record.owner.address === self.address) throw Errors.uploadOwnerGone(`(${self.address}) restarted`);
      return this.forward(request, reply, method, record.owner);
    }
    const now = Date.now();
    if (record.expiresAt <= now) throw Errors.uploadExpired(`no bytes arrived for RESUMABLE_EXPIRY_MS, ${this.o.times.expiryMs} ms`);
    if (method === 'HEAD') {
      return reply.code(200).headers({ 'cache-control': 'no-store', 'upload-offset': '0', 'upload-expires': httpDate(record.expiresAt), ...lengthHeaders(record.spec, undefined) }).send();
    }
    if (method === 'DELETE') {
      const gone = Errors.uploadGone('The upload was terminated (DELETE)');
      const end: RecordEnd = { gone: { code: gone.code, message: gone.message } };
      const after = await this.o.records.endUnclaimed(id, end, now, this.o.times.expiryMs);
      if (after?.end && !after.owner && JSON.stringify(after.end) === JSON.stringify(end)) return reply.code(204).send();
      return this.dispatch(request, reply, method, id, after);
    }
    // The first PATCH: this replica claims the upload and holds its call, unless another replica was first.
    this.o.uploads.assertRoom(record.spec.capKey);
    const self = this.o.self();
    let held!: () => void;
    this.claiming.set(id, new Promise((resolve) => { held = resolve; }));
    try {
      const after = await this.o.records.claim(id, self, now, this.ownedTtl());
      if (after?.owner && !after.end && after.owner.instance === self.instance) {
        // Two first PATCHes on this replica: the one that resumes first holds the upload, the other uses it.
        if (!this.o.uploads.has(id)) this.hold(after.spec, self);
        return undefined;
      }
      return await this.dispatch(request, reply, method, id, after);
    } finally {
      this.claiming.delete(id);
      held();
    }
  }

  private async forward(request: FastifyRequest, reply: FastifyReply, method: string, owner: RecordOwner): Promise<FastifyReply> {
    // A forwarded PATCH streams bytes through this replica: it takes an upload slot here too, and the drain ends it.
    const slot = method === 'PATCH' ? this.o.gate.enter({ duringDrain: true }) : undefined;
    try {
      return await this.o.forwarding.forward(request, reply, owner, slot?.signal ?? new AbortController().signal);
    } finally {
      slot?.release();
    }
  }

  /** Holds the upload's call here; how it ends is written to its record. */
  private hold(spec: RecordSpec, owner: RecordOwner): ResumableUpload {
    const upload = this.o.uploads.adopt({ ...spec });
    upload.onEnded(() => this.publish(upload, owner));
    return upload;
  }

  /**
   * Writes the upload's end to its record, retrying while the store is
   * unreachable (meanwhile other replicas forward to this one, which
   * answers from memory). Always writes the latest end: a late answer
   * replaces an unknown outcome.
   */
  private publish(upload: ResumableUpload, owner: RecordOwner): void {
    const running = this.publishing.get(upload.id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: true };
    this.publishing.set(upload.id, state);
    void (async () => {
      for (let attempt = 1; state.again; attempt++) {
        state.again = false;
        try {
          await this.o.records.finish(upload.id, owner, endOf(upload), this.o.times.expiryMs);
        } catch (err) {
          if (attempt >= PUBLISH_ATTEMPTS) {
            this.o.log.warn({ uploadId: upload.id, err }, 'recording how a resumable upload ended in the shared store failed; other replicas forward to this one for it meanwhile');
            break;
          }
          state.again = true;
          await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS).unref());
        }
      }
      this.publishing.delete(upload.id);
    })();
  }

  /** Claimed: the record lives as long as the upload may, and its answer for RESUMABLE_EXPIRY_MS after. */
  private ownedTtl(): number {
    return this.o.times.maxLifetimeMs + this.o.times.expiryMs;
  }
}

function endOf(upload: ResumableUpload): RecordEnd {
  if (upload.answer) return { answer: upload.answer, offset: upload.offset, expiresAt: upload.expiresAt };
  const error = upload.error ?? Errors.uploadGone('The upload ended');
  return { gone: { code: error.code, message: error.message } };
}

/** A request for an upload that ended on its owner, answered from the record as the owner would. */
function answerEnded(request: FastifyRequest, reply: FastifyReply, method: string, end: RecordEnd, spec: RecordSpec): FastifyReply {
  if ('gone' in end) throw new BridgeError(end.gone.code, end.gone.message, 410, GrpcCode.NOT_FOUND);
  if (method === 'DELETE') throw Errors.deleteAfterHalfClose();
  const headers = {
    'upload-offset': String(end.offset),
    'upload-expires': httpDate(end.expiresAt),
    'ignite-context-id': end.answer.contextId,
    'ignite-size-bytes': end.answer.sizeBytes,
  };
  if (method === 'HEAD') return reply.code(200).headers({ 'cache-control': 'no-store', ...headers, ...lengthHeaders(spec, end.offset) }).send();
  const offset = byteCount('Upload-Offset', request.headers['upload-offset']);
  if (offset !== end.offset) throw Errors.offsetMismatch(end.offset, request.headers['upload-offset'] as string | undefined);
  return reply.code(200).headers(headers).send(end.answer);
}

function lengthHeaders(spec: RecordSpec, completedLength: number | undefined): Record<string, string> {
  const length = spec.length ?? completedLength;
  const headers: Record<string, string> = length === undefined ? { 'upload-defer-length': '1' } : { 'upload-length': String(length) };
  if (spec.metadata !== undefined) headers['upload-metadata'] = spec.metadata;
  return headers;
}
