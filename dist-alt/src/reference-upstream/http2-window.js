/**
 * A grpc-js server receives with HTTP/2's default 64 KiB windows (per stream
 * and per connection), so a sender gets 64 KiB per round trip whatever its
 * speed; real servers grow theirs (grpc-go's BDP estimation goes to 16 MiB).
 * Call `before` ahead of bindAsync (the SETTINGS every session announces)
 * and `after` once bound (each session's connection window).
 */
export function http2Window(server, bytes) {
    const internals = server;
    return {
        before() {
            if (!internals.commonServerOptions)
                throw new Error('grpc-js changed: no commonServerOptions to set the HTTP/2 window on');
            internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: bytes };
        },
        after() {
            if (!internals.http2Servers)
                throw new Error('grpc-js changed: no http2Servers to set the HTTP/2 window on');
            for (const http2Server of internals.http2Servers.keys()) {
                http2Server.on('session', (session) => session.setLocalWindowSize(bytes));
            }
        },
    };
}
//# sourceMappingURL=http2-window.js.map