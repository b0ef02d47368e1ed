/** The proto file through proto-loader, for the reference upstream, the tests and the benchmark; the bridge encodes its messages by hand (upload-messages.ts). */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
/** Compiled code lives in dist/src/grpc/, the proto at the repository root. */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const BUILD_PROTO = 'dodil/ignite/v1/build.proto';
let cached;
export function loadBuildProto() {
    // 64-bit integers as strings: size_bytes must not lose precision past 2^53.
    cached ??= protoLoader.loadSync(BUILD_PROTO, {
        includeDirs: [PROTO_ROOT],
        longs: String,
        defaults: true,
        oneofs: true,
    });
    return cached;
}
export function uploadMethodDefinition() {
    const service = loadBuildProto()['dodil.ignite.v1.BuildService'];
    return service['UploadBuildContext'];
}
//# sourceMappingURL=proto.js.map