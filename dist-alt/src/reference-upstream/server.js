import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { loadBuildProto } from '../grpc/proto.js';
import { startBuildApi } from './build-api.js';
import { ContextStore } from './context-store.js';
import { http2Window } from './http2-window.js';
import { handleUpload } from './upload-call.js';
/**
 * The reference BuildService: a real grpc-js server with UploadBuildContext's
 * semantics. It is the default upstream of `npm start`, the upstream of the
 * tests, and runs alone with `npm run upstream`.
 */
export async function startReferenceUpstream(options) {
    const store = new ContextStore(options.dataDir);
    await store.init();
    const events = new EventEmitter();
    // One promise per call, settled once the call is reported, i.e. its files are in their final state.
    const unfinished = new Set();
    const track = () => {
        let settle;
        const finished = new Promise((resolve) => { settle = resolve; });
        unfinished.add(finished);
        void finished.then(() => unfinished.delete(finished));
        return settle;
    };
    const server = new grpc.Server({
        'grpc.max_receive_message_length': 8 * 1024 * 1024,
    });
    const proto = grpc.loadPackageDefinition(loadBuildProto());
    server.addService(proto.dodil.ignite.v1.BuildService.service, {
        UploadBuildContext: (call, callback) => handleUpload(call, callback, { store, token: options.token, discard: options.discard ?? false, faults: options.faults ?? {}, events }, track()),
    });
    // The standard health service and server reflection, so grpcurl and probes work against it.
    const health = new HealthImplementation({ '': 'SERVING', 'dodil.ignite.v1.BuildService': 'SERVING' });
    health.addToServer(server);
    new ReflectionService({ ...loadBuildProto(), ...protoLoader.loadSync(healthProtoPath) }).addToServer(server);
    const credentials = options.tls
        ? grpc.ServerCredentials.createSsl(options.tls.clientCa ?? null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], Boolean(options.tls.clientCa))
        : grpc.ServerCredentials.createInsecure();
    const window = options.http2WindowBytes ? http2Window(server, options.http2WindowBytes) : undefined;
    window?.before();
    const host = options.host ?? '127.0.0.1';
    const port = await new Promise((resolve, reject) => server.bindAsync(`${host}:${options.port ?? 0}`, credentials, (err, bound) => err ? reject(err) : resolve(bound)));
    window?.after();
    const buildApi = await startBuildApi({
        host, port: options.buildApi?.port ?? 0, dataDir: options.dataDir, contextsDir: store.dir, token: options.token, events,
        ...(options.buildApi?.faults ? { faults: options.buildApi.faults } : {}),
    });
    return {
        port,
        target: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        apiUrl: buildApi.url,
        store,
        events,
        close: async () => {
            await buildApi.close();
            health.setStatus('', 'NOT_SERVING');
            health.setStatus('dodil.ignite.v1.BuildService', 'NOT_SERVING');
            await new Promise((resolve) => {
                server.tryShutdown(() => resolve());
                // Calls still open after a moment are cut, so a test's close never hangs.
                setTimeout(() => server.forceShutdown(), 1000).unref();
            });
            // A cancelled call's temp file is removed after the call ended: let that finish before the process exits.
            await Promise.race([Promise.all(unfinished), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        },
    };
}
//# sourceMappingURL=server.js.map