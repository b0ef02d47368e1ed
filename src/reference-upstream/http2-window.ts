import type { Http2Server, Http2Session, Settings } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** The grpc-js server internals this reaches into: it has no option for its HTTP/2 receive window. */
interface ServerInternals {
  commonServerOptions?: { settings?: Settings };
  http2Servers?: Map<Http2Server, unknown>;
}

/**
 * A grpc-js server receives with HTTP/2's default 64 KiB windows (per stream
 * and per connection), so a sender gets 64 KiB per round trip whatever its
 * speed; real servers grow theirs (grpc-go's BDP estimation goes to 16 MiB).
 * Call `before` ahead of bindAsync (the SETTINGS every session announces)
 * and `after` once bound (each session's connection window).
 */
export function http2Window(server: grpc.Server, bytes: number): { before(): void; after(): void } {
  const internals = server as unknown as ServerInternals;
  return {
    before() {
      if (!internals.commonServerOptions) throw new Error('grpc-js changed: no commonServerOptions to set the HTTP/2 window on');
      internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: bytes };
    },
    after() {
      if (!internals.http2Servers) throw new Error('grpc-js changed: no http2Servers to set the HTTP/2 window on');
      for (const http2Server of internals.http2Servers.keys()) {
        http2Server.on('session', (session: Http2Session) => session.setLocalWindowSize(bytes));
      }
    },
  };
}
