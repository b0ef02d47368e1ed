import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createH2Server } from 'node:http2';
const MIB = 1024 * 1024;
/**
 * HTTP/2 flow-control windows sized for real round trips: a stream can have
 * at most one window of unread bytes in flight, so throughput is at most
 * window / RTT (Node's 64 KiB default gives under 1 MB/s at 40 ms). They are
 * also the bound on what the bridge buffers: a stream the bridge stops
 * reading (its upstream is behind) holds at most STREAM_WINDOW_BYTES, and all
 * the streams of one connection together at most CONNECTION_WINDOW_BYTES.
 */
export const STREAM_WINDOW_BYTES = 8 * MIB;
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
 * One port for HTTP/1.1 and HTTP/2. The HTTP/1 server stays Fastify's
 * `server` (its clientError, checkContinue and connection tracking keep
 * working); its connection listener is wrapped to look at each new
 * connection first. In cleartext the first bytes decide (the HTTP/2 preface,
 * or anything else: HTTP/1.1); over TLS, ALPN does. HTTP/2 connections go to
 * an `http2` server with the same handler. Its sessions follow the HTTP/1
 * server's close methods: `closeIdleConnections` sends GOAWAY (streams in
 * flight finish), `closeAllConnections` destroys them.
 */
export function bridgeListener(options) {
    const sessions = new Set();
    const goAway = () => {
        for (const session of sessions)
            if (!session.closed)
                session.close();
    };
    const serverFactory = (handler) => {
        const http1 = options.tls
            ? createHttpsServer({ ...options.http, cert: options.tls.cert, key: options.tls.key, ALPNProtocols: options.http2 ? ['h2', 'http/1.1'] : ['http/1.1'], handshakeTimeout: options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS }, handler)
            : createHttpServer(options.http ?? {}, handler);
        if (!options.http2)
            return http1;
        const h2 = http2Server(options, handler);
        if (options.tls)
            byAlpn(http1, h2);
        else
            byPreface(http1, h2, options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS);
        h2.on('session', (session) => {
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
            for (const session of sessions)
                session.destroy();
        };
        return http1;
    };
    return { serverFactory, goAway };
}
function http2Server(options, handler) {
    const h2 = createH2Server({
        maxSessionMemory: MAX_SESSION_MEMORY_MB,
        maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
        maxSettings: MAX_SETTINGS,
        settings: {
            initialWindowSize: STREAM_WINDOW_BYTES,
            maxConcurrentStreams: Math.min(options.maxConcurrentStreams, MAX_STREAMS_PER_CONNECTION),
            maxHeaderListSize: MAX_HEADER_LIST_BYTES,
        },
    }, handler);
    // As on HTTP/1: the routes grant 100-continue once their early checks pass.
    h2.on('checkContinue', (req, res) => h2.emit('request', req, res));
    h2.on('session', (session) => {
        const widen = () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
        if (session.connecting)
            session.once('connect', widen);
        else
            widen();
        session.setTimeout(options.sessionIdleMs, () => session.close());
        // A broken connection is its streams' abort, seen by each request; nothing else to report.
        session.on('error', () => { });
    });
    return h2;
}
/** HTTP/1's own connection listener, taken off the server so a connection reaches it only once told apart. */
function takeListener(server, event) {
    const [listener] = server.listeners(event);
    if (!listener)
        throw new Error(`the HTTP/1 server has no ${event} listener`);
    server.removeListener(event, listener);
    return (socket) => listener.call(server, socket);
}
function byAlpn(http1, h2) {
    const serveHttp1 = takeListener(http1, 'secureConnection');
    http1.on('secureConnection', (socket) => {
        if (socket.alpnProtocol === 'h2')
            h2.emit('connection', socket);
        else
            serveHttp1(socket);
    });
}
/**
 * Reads until the first bytes either differ from the HTTP/2 preface or are
 * all of it, puts them back, and hands the socket on. The HTTP/2 session
 * takes the bytes put back with `read()`: the socket must not be resumed
 * (they would flow to no one). A connection silent past `timeoutMs` is closed.
 */
function byPreface(http1, h2, timeoutMs) {
    const serveHttp1 = takeListener(http1, 'connection');
    http1.on('connection', (socket) => {
        let seen = Buffer.alloc(0);
        const timer = setTimeout(() => socket.destroy(), timeoutMs);
        const settle = () => {
            clearTimeout(timer);
            socket.removeListener('data', onData);
            socket.removeListener('close', onClose);
            socket.pause();
            socket.unshift(seen);
        };
        const onData = (piece) => {
            seen = seen.length === 0 ? piece : Buffer.concat([seen, piece]);
            const n = Math.min(seen.length, H2_PREFACE.length);
            if (!seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
                settle();
                serveHttp1(socket);
                // HTTP/1's parser reads through 'data' events: the bytes put back flow to it.
                socket.resume();
            }
            else if (n === H2_PREFACE.length) {
                settle();
                h2.emit('connection', socket);
            }
        };
        const onClose = () => clearTimeout(timer);
        socket.on('data', onData);
        socket.once('close', onClose);
        // Until told apart, a reset is just a closed connection.
        socket.on('error', () => { });
    });
}
//# sourceMappingURL=listener.js.map