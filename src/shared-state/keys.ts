/**
 * Every Redis key the bridge writes, in one place. Each carries its own
 * lifetime (PX); nothing relies on eviction.
 *
 * - `ignite:idem:<credential scope>\n<Idempotency-Key>`: a string, the key's
 *   state as JSON (`in-flight`/`awaiting` with the owner's token, `done` with
 *   the first response, `unknown`); PX = the claim's lease while claimed,
 *   IDEMPOTENCY_TTL_MS once finished.
 * - `ignite:import:<importId>`: a hash, `status` (the ImportStatus JSON) and
 *   `phase` (`receiving`, `awaiting` once the call is about to be
 *   half-closed, `finished`); PX = 24 h, set again when it finishes.
 * - `ignite:import:<importId>:alive`: the running replica's heartbeat; PX = the
 *   heartbeat lease, refreshed every third of it. Without it, a job still
 *   `running` reads `failed` (or `unknown` once `awaiting`).
 *
 * Reserved for resumable uploads (not built yet): `ignite:upload:<id>` (the
 * upload's record: length, metadata, credential scope, and its owner: the
 * address of the replica holding the gRPC call, with an owner token and a
 * lease like a claim's) and `ignite:upload:<id>:answer` (a completed upload's
 * `{contextId, sizeBytes}`, per credential, until it expires).
 */
export const KEY_PREFIX = 'ignite:';
export const IDEMPOTENCY_PREFIX = `${KEY_PREFIX}idem:`;
export const importKey = (importId: string): string => `${KEY_PREFIX}import:${importId}`;
export const importAliveKey = (importId: string): string => `${KEY_PREFIX}import:${importId}:alive`;
