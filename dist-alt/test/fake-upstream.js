import http2 from 'node:http2';
/**
 * An upstream that is not grpc-js: a bare node:http2 server that, like a
 * naive Go server, treats end-of-stream as "the archive is complete", and
 * records for each call whether it ended cleanly or was reset. `answer`
 * may respond on its own (e.g. early); by default the stream is only read.
 */
export async function startFakeUpstream(t, answer) {
    const calls = [];
    const waiters = [];
    const server = http2.createServer();
    server.on('stream', (stream) => {
        const call = { bytes: 0 };
        calls.push(call);
        stream.on('error', () => { });
        const settle = (outcome) => {
            if (call.outcome)
                return;
            call.outcome = outcome;
            for (const wake of waiters.splice(0))
                wake(call);
        };
        // Node pushes end-of-data after a reset too; 'aborted' comes first then, and nothing is committed.
        stream.on('aborted', () => settle('reset'));
        stream.on('end', () => settle(stream.aborted ? 'reset' : 'committed'));
        stream.on('data', (d) => { call.bytes += d.length; });
        if (answer)
            answer(stream);
        else
            stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => { server.close(() => resolve()); setTimeout(resolve, 200); }));
    return {
        target: `127.0.0.1:${server.address().port}`,
        calls,
        /** Resolves with the next call that ends, however it ends. */
        nextOutcome: () => new Promise((resolve) => waiters.push(resolve)),
    };
}
//# sourceMappingURL=fake-upstream.js.map