import http2, { type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface FakeCall {
  bytes: number;
  /** How the request stream ended: END_STREAM (a naive server commits then) or RST_STREAM. */
  outcome?: 'committed' | 'reset';
}

/**
 * An upstream that is not grpc-js: a bare node:http2 server that, like a
 * naive Go server, treats end-of-stream as "the archive is complete", and
 * records for each call whether it ended cleanly or was reset. `answer`
 * may respond on its own (e.g. early); by default the stream is only read.
 */
export async function startFakeUpstream(t: TestContext, answer?: (stream: ServerHttp2Stream) => void) {
  const calls: FakeCall[] = [];
  const waiters: Array<(call: FakeCall) => void> = [];
  const server = http2.createServer();
  server.on('stream', (stream) => {
    const call: FakeCall = { bytes: 0 };
    calls.push(call);
    stream.on('error', () => {});
    const settle = (outcome: FakeCall['outcome']) => {
      if (call.outcome) return;
      call.outcome = outcome;
      for (const wake of waiters.splice(0)) wake(call);
    };
    // Node pushes end-of-data after a reset too; 'aborted' comes first then, and nothing is committed.
    stream.on('aborted', () => settle('reset'));
    stream.on('end', () => settle(stream.aborted ? 'reset' : 'committed'));
    stream.on('data', (d: Buffer) => { call.bytes += d.length; });
    if (answer) answer(stream);
    else stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { server.close(() => resolve()); setTimeout(resolve, 200); }));
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    /** Resolves with the next call that ends, however it ends. */
    nextOutcome: () => new Promise<FakeCall>((resolve) => waiters.push(resolve)),
  };
}
