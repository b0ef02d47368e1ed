import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RecordEnd, UploadRecord } from './resumable-records.js';
import type { ResumableSpec, ResumableUpload } from './resumable-upload.js';
import type { ResumableUploads } from './resumable-uploads.js';

/** A created upload no replica holds yet: what the creation's answer needs. */
export interface UnclaimedUpload {
  id: string;
  offset: number;
  expiresAt: number;
}

/** What a tus request asks of an upload: to read its state, to feed it bytes, or to end it. */
export type TusMethod = 'HEAD' | 'PATCH' | 'DELETE';

/**
 * Where an upload lives, as a handler sees it. `here`: this process holds
 * its call (one request at a time feeds it: `upload.lock()`). `owner`: another replica does (`forward` sends the request
 * there and answers with the owner's reply, or, when the owner cannot
 * answer, where the upload is known to be instead). `ended`: its record says
 * how it ended (`ownerStopped`: a build step its owner left unfinished never
 * finishes). `unclaimed`: created, no PATCH yet, held by no replica.
 */
export type Found =
  | { at: 'here'; upload: ResumableUpload }
  | { at: 'owner'; forward: (reply: FastifyReply) => Promise<Found | undefined> }
  | Ended
  | Unclaimed;

export interface Ended {
  at: 'ended';
  record: UploadRecord;
  end: RecordEnd;
  ownerStopped: boolean;
}

export interface Unclaimed {
  at: 'unclaimed';
  record: UploadRecord;
  /** The first PATCH: this replica claims the upload and holds its call, unless another replica was first. */
  claim: () => Promise<Found>;
  /** DELETE: ends the record as terminated; undefined once it is, else where the upload turned out to be. */
  terminate: () => Promise<Found | undefined>;
}

/**
 * Where uploads live: in this process alone, or in records shared through
 * Redis with forwarding to the replica that holds each one. The tus handlers
 * ask it and decide the protocol's answer themselves.
 */
export interface UploadStore {
  /** A new upload (`withBody`: its creation carries the first bytes, so its call is held here at once). */
  create(spec: Omit<ResumableSpec, 'id' | 'createdAt'>, withBody: boolean): Promise<ResumableUpload | UnclaimedUpload>;
  /**
   * Where the request's upload (its `:id`) lives; throws the 404 of an
   * upload unknown to the request's credential (`method`: a PATCH forwarded
   * to the owner takes an upload slot on this replica too).
   */
  find(request: FastifyRequest, method: TusMethod): Promise<Found>;
}

/** Without REDIS_URL: every upload lives in this process. */
export class LocalUploadStore implements UploadStore {
  constructor(
    private readonly uploads: ResumableUploads,
    private readonly scopeOf: (request: FastifyRequest) => string,
  ) {}

  create(spec: Omit<ResumableSpec, 'id' | 'createdAt'>): Promise<ResumableUpload> {
    return Promise.resolve(this.uploads.create(spec));
  }

  find(request: FastifyRequest): Promise<Found> {
    return Promise.resolve({ at: 'here', upload: this.uploads.get(uploadIdOf(request), this.scopeOf(request)) });
  }
}

/**
 * Where the upload is once the request was forwarded to its owner, if it has
 * one elsewhere: undefined when the owner answered it, else a place this
 * replica answers for (the owner could not, and the record says where).
 */
export async function reached(found: Found, reply: FastifyReply): Promise<Exclude<Found, { at: 'owner' }> | undefined> {
  while (found.at === 'owner') {
    const instead = await found.forward(reply);
    if (!instead) return undefined;
    found = instead;
  }
  return found;
}

export function uploadIdOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}
