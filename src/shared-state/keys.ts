/**
 * Every Redis key the bridge writes, in one place. Each carries its own
 * lifetime (PX); nothing relies on eviction.
 *
 * - `ignite:idem:<credential scope>\n<Idempotency-Key>`: a string, the key's
 *   state as JSON (`in-flight`/`awaiting` with the owner's token, `done` with
 *   the first response, `unknown`; "sent" is `awaiting` with `sent: true` and
 *   the owner's process instance, so an older replica reads it as awaiting);
 *   PX = the claim's lease while claimed, UPSTREAM_OUTCOME_WAIT_MS plus
 *   IDEMPOTENCY_TTL_MS once sent, IDEMPOTENCY_TTL_MS once finished.
 * - `ignite:replica:<instance>`: a bridge process's heartbeat as earlier
 *   releases read it (EXISTS); PX = the claim lease, renewed every third of it.
 * - `ignite:replica:<instance>:beat`: the time of its last beat on Redis's
 *   clock; PX = 20 leases. A "sent" key whose owner has none, or one over a
 *   lease old while beats kept landing for a lease, reads "outcome unknown".
 * - `ignite:replicas`: a hash, `last` (the latest beat of any replica) and
 *   `resumed` (when beats landed again after a gap: a stalled Redis); PX = 20
 *   leases.
 * - `ignite:import:<importId>`: a hash, `status` (the ImportStatus JSON) and
 *   `phase` (`receiving`, `awaiting` once the call is about to be
 *   half-closed, `finished`); PX = 24 h, set again when it finishes.
 * - `ignite:import:<importId>:alive`: the running replica's heartbeat; PX = the
 *   heartbeat lease, refreshed every third of it. Without it, a job still
 *   `running` reads `failed` (or `unknown` once `awaiting`).
 * - `ignite:upload:<id>`: a hash, a resumable upload's record: `spec` (name,
 *   length, metadata, credential scope, creation time, as JSON), `expires`
 *   (when it expires unless a first PATCH claims it), `owner` (once claimed:
 *   the address and process instance of the replica holding its gRPC call),
 *   `sent` (when the owner was about to half-close it), `end` (its answer,
 *   readable by the same credential only, terminated (also written as gone,
 *   for the previous version), or why it is gone), `unknown` (an outcome not
 *   known, kept apart so the previous version forwards to the owner), `build`; PX = until its expiry plus RESUMABLE_EXPIRY_MS while
 *   unclaimed, RESUMABLE_MAX_LIFETIME_MS plus RESUMABLE_EXPIRY_MS once
 *   claimed, UPSTREAM_OUTCOME_WAIT_MS plus IDEMPOTENCY_TTL_MS once sent,
 *   IDEMPOTENCY_TTL_MS once answered or unknown, RESUMABLE_EXPIRY_MS once
 *   failed or terminated.
 */
export const KEY_PREFIX = 'ignite:';
export const IDEMPOTENCY_PREFIX = `${KEY_PREFIX}idem:`;
export const importKey = (importId: string): string => `${KEY_PREFIX}import:${importId}`;
export const importAliveKey = (importId: string): string => `${KEY_PREFIX}import:${importId}:alive`;
export const replicaAliveKey = (instance: string): string => `${KEY_PREFIX}replica:${instance}`;
export const replicaBeatKey = (instance: string): string => `${KEY_PREFIX}replica:${instance}:beat`;
export const replicaClockKey = `${KEY_PREFIX}replicas`;
export const uploadKey = (uploadId: string): string => `${KEY_PREFIX}upload:${uploadId}`;
