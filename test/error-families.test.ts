import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import {
  BridgeError, ClientGoneError, Errors, errorFamilies, GrpcCode, httpStatusFromGrpcCode, ImportSourceError, InternalError, MaybeStoredError,
  OutcomeLostError, OutcomeUnknownError, RefusedError, RequestError, toBridgeError, UnavailableError, UploadStateError, UpstreamError,
} from '../src/errors.js';
import { UpstreamClient } from '../src/grpc/upstream-client.js';
import { LateAnswers, type LateOutcome } from '../src/upload/late-answers.js';
import { gzipLike } from './helpers.js';
import { nextUpload, startReference } from './reference-helpers.js';
import { TcpProxy } from './tcp-proxy.js';

type Factory = (...args: unknown[]) => BridgeError;

/** Arguments for the factories whose parameters are not plain facts to print; the rest get '7' for each. */
const SAMPLE_ARGS: Record<string, unknown[][]> = {
  resumableCapacity: [[8, 'replica'], [2, 'credential'], [2, 'address']],
  buildNotStarted: [['ctx_1', 401, 'bad token', [{ '@type': 'type.googleapis.com/google.rpc.BadRequest' }]]],
  buildOutcomeUnknown: [['ctx_1', 'no answer']],
  tusVersionUnsupported: [[undefined], ['0.2.2']],
  offsetMismatch: [[1000, undefined], [1000, '5']],
  patchContentType: [[undefined], ['text/plain']],
  upstream: Object.values(GrpcCode).filter((code) => code !== GrpcCode.OK).map((code) => [code, 'from the upstream']),
};

/** Every error the catalogue's factories make, with the factory's name. */
function everyFactoryError(): Array<{ factory: string; error: BridgeError }> {
  return Object.entries(Errors as unknown as Record<string, Factory>).flatMap(([factory, make]) =>
    (SAMPLE_ARGS[factory] ?? [Array.from({ length: make.length }, () => '7')])
      .map((args) => ({ factory, error: make(...args) })));
}

/** The one family an error belongs to (OutcomeUnknownError and OutcomeLostError are MaybeStoredErrors). */
function familyOf(error: BridgeError) {
  const families = errorFamilies.filter((family) => error instanceof family);
  assert.equal(families.length, 1, `${error.code} is in ${families.length} families`);
  return families[0]!;
}

describe('the error families', () => {
  test('every factory answers with its family\'s status and gRPC code for its reason, and the ErrorInfo names that reason', () => {
    const made = new Set<string>();
    for (const { factory, error } of everyFactoryError()) {
      const family = familyOf(error);
      const wire = (family.reasons as Record<string, { status: number; grpc: number }>)[error.code];
      assert.ok(wire, `Errors.${factory}: ${error.code} is not a reason of ${family.name}`);
      assert.equal(error.httpStatus, wire.status, `Errors.${factory} (${error.code}): status`);
      assert.equal(error.grpcCode, wire.grpc, `Errors.${factory} (${error.code}): gRPC code`);
      const status = error.toStatus();
      assert.equal(status.code, wire.grpc);
      assert.deepEqual(status.details[0], { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: error.code, domain: 'ignite-upload-bridge', metadata: error.errorInfo().metadata });
      made.add(`${family.name} ${error.code}`);
    }
    // What the factories do not make: toBridgeError's framework refusal and bug, and the commit's open unknown outcome.
    made.add('RequestError BAD_REQUEST').add('InternalError INTERNAL').add('MaybeStoredError UPSTREAM_OUTCOME_UNKNOWN');
    const tabled = errorFamilies.flatMap((family) => Object.keys(family.reasons).map((reason) => `${family.name} ${reason}`));
    assert.deepEqual(tabled.filter((entry) => !made.has(entry)), [], 'reasons in a family\'s table that nothing makes');
  });

  test('an upstream status is relayed as UPSTREAM_<name> with grpc-gateway\'s HTTP status, and says it came from the upstream', () => {
    for (const [name, code] of Object.entries(GrpcCode).filter(([, code]) => code !== GrpcCode.OK)) {
      const error = Errors.upstream(code, 'details');
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.code, `UPSTREAM_${name}`);
      assert.equal(error.httpStatus, httpStatusFromGrpcCode(code));
      assert.equal(error.upstreamCode, code);
    }
    // The bridge's own judgements of the upstream are not the upstream's status.
    for (const error of [Errors.upstreamTimeout(10), Errors.upstreamSizeMismatch(1, '2'), Errors.upstreamAnsweredEarly()]) {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.upstreamCode, undefined, error.code);
    }
  });

  test('anything thrown that is no BridgeError: a framework refusal keeps its status, a 404 is NOT_FOUND, the rest INTERNAL', () => {
    const tooLarge = toBridgeError(Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }));
    assert.ok(tooLarge instanceof RequestError);
    assert.deepEqual([tooLarge.code, tooLarge.httpStatus, tooLarge.grpcCode, tooLarge.errorInfo().metadata], ['BAD_REQUEST', 413, GrpcCode.INVALID_ARGUMENT, { frameworkCode: 'FST_ERR_CTP_BODY_TOO_LARGE' }]);
    const notFound = toBridgeError({ statusCode: 404, message: 'Route not found' });
    assert.ok(notFound instanceof RequestError);
    assert.deepEqual([notFound.code, notFound.httpStatus], ['NOT_FOUND', 404]);
    const bug = new TypeError('x is undefined');
    const internal = toBridgeError(bug);
    assert.ok(internal instanceof InternalError);
    assert.deepEqual([internal.code, internal.httpStatus, internal.cause], ['INTERNAL', 500, bug]);
    const known = Errors.overCapacity(4);
    assert.equal(toBridgeError(known), known);
  });

  test('families group what a caller decides on', () => {
    assert.ok(Errors.clientAborted() instanceof ClientGoneError);
    assert.ok(Errors.idleTimeout(10) instanceof ClientGoneError);
    assert.ok(Errors.idempotencyKeyReused() instanceof RefusedError);
    assert.ok(Errors.sharedStateUnavailable() instanceof UnavailableError);
    assert.ok(Errors.importIncomplete('host', 'cut') instanceof ImportSourceError);
    // A resumable upload's state is answered by HEAD later: not this request's unknown outcome.
    assert.ok(Errors.uploadOutcomeUnknown('gone') instanceof UploadStateError);
    assert.ok(!(Errors.uploadOutcomeUnknown('gone') instanceof MaybeStoredError));
  });
});

describe('an unknown outcome is classified by its class, from each source', () => {
  test('the catalogue\'s unknown outcomes are MaybeStoredErrors; only the two of a live call are Outcome{Unknown,Lost}Error', () => {
    const open = new OutcomeUnknownError(100, 10, new Promise(() => {}), () => {});
    const lost = Errors.upstreamOutcomeLost('UNAVAILABLE', 'connection reset');
    for (const error of [open, lost, Errors.outcomeNeverKnown(), Errors.idempotencyOutcomeUnknown(), Errors.importOutcomeLost(), Errors.resumableOutcomeUnknown(100)]) {
      assert.ok(error instanceof MaybeStoredError, error.code);
      assert.equal(error.httpStatus, 504, error.code);
    }
    assert.ok(lost instanceof OutcomeLostError);
    assert.ok(!(lost instanceof OutcomeUnknownError));
    assert.ok(!(open instanceof OutcomeLostError));
    assert.deepEqual(everyFactoryError().filter(({ error }) => error instanceof OutcomeLostError || error instanceof OutcomeUnknownError).map(({ factory }) => factory), ['upstreamOutcomeLost']);
  });

  test('a late answer that fails with an OutcomeLostError is unknown; an error merely spelled like one is a failure', async () => {
    const late = new LateAnswers(5000, 4);
    const follow = (failure: unknown) => new Promise<LateOutcome>((resolve) => {
      const answer = Promise.reject(failure);
      answer.catch(() => {});
      late.follow(new OutcomeUnknownError(100, 10, answer, () => {}), resolve);
    });
    assert.deepEqual(await follow(Errors.upstreamOutcomeLost('UNAVAILABLE', 'reset')), { kind: 'unknown' });
    const lookalike = new BridgeError('UPSTREAM_OUTCOME_LOST', 'not from a call', 504, GrpcCode.DEADLINE_EXCEEDED);
    assert.deepEqual(await follow(lookalike), { kind: 'failed', error: lookalike });
    const refused = Errors.upstream(GrpcCode.RESOURCE_EXHAUSTED, 'disk full');
    assert.deepEqual(await follow(refused), { kind: 'failed', error: refused });
  });

  test('a real call: refused before the half-close is an UpstreamError; no answer after it is an OutcomeUnknownError', async (t) => {
    const refusing = await startReference(t, { faults: { failAfterBytes: { bytes: 1, code: GrpcCode.RESOURCE_EXHAUSTED, details: 'quota' } } });
    const silent = await startReference(t, { faults: { neverAnswer: true } });
    for (const [reference, expect] of [[refusing, 'refused'], [silent, 'silent']] as const) {
      const client = new UpstreamClient({ target: reference.target, responseTimeoutMs: 300 });
      t.after(() => client.close());
      const call = client.open({ name: `${expect}.tar.gz`, contentType: 'application/gzip', expectedSizeBytes: '0' }, {});
      const failure = await (async () => { await call.write(gzipLike(2048)); return call.commit(); })().then(() => undefined, (err: unknown) => err);
      if (expect === 'refused') {
        assert.ok(failure instanceof UpstreamError && !(failure instanceof MaybeStoredError), String(failure));
        assert.equal(failure.upstreamCode, GrpcCode.RESOURCE_EXHAUSTED);
      } else {
        assert.ok(failure instanceof OutcomeUnknownError, String(failure));
        assert.ok(failure instanceof MaybeStoredError);
        const ended = nextUpload(reference);
        failure.abandon();
        assert.equal((await ended).outcome, 'cancelled');
      }
    }
  });

  test('a real call whose connection breaks after the half-close is an OutcomeLostError', async (t) => {
    const reference = await startReference(t, { faults: { neverAnswer: true } });
    const proxy = await TcpProxy.start(Number(reference.target.split(':').pop()));
    const client = new UpstreamClient({ target: `127.0.0.1:${proxy.port}`, responseTimeoutMs: 30_000 });
    t.after(() => client.close());
    const call = client.open({ name: 'lost.tar.gz', contentType: 'application/gzip', expectedSizeBytes: '0' }, {});
    await call.write(gzipLike(2048));
    const halfClosed = once(reference.events, 'half-close');
    const committed = call.commit().then(() => undefined, (err: unknown) => err);
    await halfClosed;
    await proxy.close();
    const failure = await committed;
    assert.ok(failure instanceof OutcomeLostError, String(failure));
    assert.ok(failure instanceof MaybeStoredError);
  });
});
