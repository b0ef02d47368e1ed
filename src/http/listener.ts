import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createH2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

const MIB = 1024 * 1024;

/**
 * HTTP/2 flow-control windows sized for real round trips: a stream can have
 * at most one window of unread bytes in flight, so throughput is at most
 * window / RTT (Node's 64 KiB default gives under 1 MB/s at 40 ms). Node
 * credits a stream the bridge paused (its upstream is behind) only once the
 * stream's readable buffer has drained, so the client then gets the whole
 * window back at once and waits a round trip for it: 8 MiB reached 0.7x of
 * HTTP/1.1 over a 40 ms path, 16 MiB keeps the path full (docs/operating.md, "HTTP/2").
 * They are also the bound on what the bridge buffers: a stream the bridge
 * stops reading holds at most STREAM_WINDOW_BYTES, and all the streams of
 * one connection together at most CONNECTION_WINDOW_BYTES.
 */
export const STREAM_WINDOW_BYTES = 16 * MIB;
export const CONNECTION_WINDOW_BYTES = 32 * MIB;
/** nghttp2's own memory per session (MB), which also counts unread DATA: above the connection window. */
const MAX_SESSION_MEMORY_MB = 64;
/** Header fields per request: well above what browsers and tus clients send, far below a flood. */
const MAX_HEADER_LIST_PAIRS = 128;
/** HPACK-decoded header bytes per request (HTTP/1's default limit is 16 KiB; tus metadata alone may take 8). */
const MAX_HEADER_LIST_BYTES = 32 * 1024;
/** SETTINGS entries per frame a client may send. */
const MAX_SETTINGS = 32;
/** Streams per connection never exceed this, whatever MAX_CONCURRENT_UPLOADS allows. */
const MAX_STREAMS_PER_CONNECTION = 128;
/** The client connection preface (RFC 9113 3.4): what a cleartext HTTP/2 connection begins with. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** How long a new connection may stay silent before its first bytes tell HTTP/1.1 from HTTP/2. */
export const PREFACE_TIMEOUT_MS = 10_000;

/**
 * Fastify's request handler. The app is typed for HTTP/1 (`IncomingMessage`);
 * on HTTP/2 the same handler gets Node's compatibility objects
 * (`Http2ServerRequest`: a readable body, `headers`, `complete`, `stream`).
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type H2Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

export interface ListenerOptions {
  /** Serve HTTP/2 next to HTTP/1.1 (h2c by preface, or ALPN `h2` over TLS). */
  http2: boolean;
  /** PEM certificate and key: terminate TLS. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Streams per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS), capped at MAX_STREAMS_PER_CONNECTION. */
  maxConcurrentStreams: number;
  /** Idle HTTP/2 connections (no frames this long) are closed with GOAWAY; streams in flight still finish. */
  sessionIdleMs: number;
  /** Silence allowed before the preface (default PREFACE_TIMEOUT_MS). */
  prefaceTimeoutMs?: number | undefined;
  /** Node HTTP/1 server options. */
  http?: ServerOptions | undefined;
}

export interface BridgeListener {
  /** Fastify's `serverFactory`. */
  serverFactory: (handler: Handler) => Server;
  /** GOAWAY on every HTTP/2 connection: no new streams there; those in flight finish. */
  goAway: () => void;
}

/**
 * One port for HTTP/1.1 and HTTP/2. The HTTP/1 server stays Fastify's
 * `server` (its clientError, checkContinue and connection tracking keep
 * working); its connection listener is wrapped to look at each new
 * connection first. In cleartext the first bytes decide (the HTTP/2 preface,
 * or anything else: HTTP/1.1); over TLS, ALPN does. HTTP/2 connections go to
 * an `http2` server with the same handler. Its sessions follow the HTTP/1
 * server's close methods: `closeIdleConnections` sends GOAWAY (streams in
 * flight finish), `closeAllConnections` destroys them.
 */
export function bridgeListener(options: ListenerOptions): BridgeListener {
  const sessions = new Set<Http2Session>();
  const goAway = () => {
    for (const session of sessions) if (!session.closed) session.close();
  };
  const serverFactory = (handler: Handler): Server => {
    const http1 = options.tls
      ? createHttpsServer({ ...options.http, cert: options.tls.cert, key: options.tls.key, ALPNProtocols: options.http2 ? ['h2', 'http/1.1'] : ['http/1.1'], handshakeTimeout: options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS }, handler)
      : createHttpServer(options.http ?? {}, handler);
    if (!options.http2) return http1;
    const h2 = http2Server(options, handler);
    if (options.tls) byAlpn(http1, h2);
    else byPreface(http1, h2, options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS);
    h2.on('session', (session: Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    const closeIdle = http1.closeIdleConnections.bind(http1);
    const closeAll = http1.closeAllConnections.bind(http1);
    http1.closeIdleConnections = () => {
      closeIdle();
      goAway();
    };
    http1.closeAllConnections = () => {
      closeAll();
      for (const session of sessions) session.destroy();
    };
    return http1;
  };
  return { serverFactory, goAway };
}

function http2Server(options: ListenerOptions, handler: Handler): Http2Server {
  const h2 = createH2Server({
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
    maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
    maxSettings: MAX_SETTINGS,
    settings: {
      initialWindowSize: STREAM_WINDOW_BYTES,
      maxConcurrentStreams: Math.min(options.maxConcurrentStreams, MAX_STREAMS_PER_CONNECTION),
      maxHeaderListSize: MAX_HEADER_LIST_BYTES,
    },
  }, handler as unknown as H2Handler);
  // As on HTTP/1: the routes grant 100-continue once their early checks pass.
  h2.on('checkContinue', (req: Http2ServerRequest, res: Http2ServerResponse) => h2.emit('request', req, res));
  h2.on('session', (session: Http2Session) => {
    const widen = () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    if (session.connecting) session.once('connect', widen);
    else widen();
    session.setTimeout(options.sessionIdleMs, () => session.close());
    // A broken connection is its streams' abort, seen by each request; nothing else to report.
    session.on('error', () => {});
  });
  return h2;
}

/** HTTP/1's own connection listener, taken off the server so a connection reaches it only once told apart. */
function takeListener(server: Server, event: 'connection' | 'secureConnection'): (socket: Socket) => void {
  const [listener] = server.listeners(event) as Array<(socket: Socket) => void>;
  if (!listener) throw new Error(`the HTTP/1 server has no ${event} listener`);
  server.removeListener(event, listener);
  return (socket) => listener.call(server, socket);
}

function byAlpn(http1: Server, h2: Http2Server): void {
  const serveHttp1 = takeListener(http1, 'secureConnection');
  http1.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else serveHttp1(socket);
  });
}

/**
 * Reads until the first bytes either differ from the HTTP/2 preface or are
 * all of it, puts them back, and hands the socket on. The HTTP/2 session
 * takes the bytes put back with `read()`: the socket must not be resumed
 * (they would flow to no one). A connection silent past `timeoutMs` is closed.
 */
function byPreface(http1: Server, h2: Http2Server, timeoutMs: number): void {
  const serveHttp1 = takeListener(http1, 'connection');
  http1.on('connection', (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const settle = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      socket.unshift(seen);
    };
    const onData = (piece: Buffer) => {
      seen = seen.length === 0 ? piece : Buffer.concat([seen, piece]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      if (!seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        settle();
        serveHttp1(socket);
        // HTTP/1's parser reads through 'data' events: the bytes put back flow to it.
        socket.resume();
      } else if (n === H2_PREFACE.length) {
        settle();
        h2.emit('connection', socket);
      }
    };
    const onClose = () => clearTimeout(timer);
    socket.on('data', onData);
    socket.once('close', onClose);
    // Until told apart, a reset is just a closed connection.
    socket.on('error', () => {});
  });
}
