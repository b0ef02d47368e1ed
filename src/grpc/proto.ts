import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';

/** Compiled code lives in dist/src/grpc/, the proto at the repository root. */
export const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const BUILD_PROTO = 'dodil/ignite/v1/build.proto';
export const UPLOAD_METHOD_PATH = '/dodil.ignite.v1.BuildService/UploadBuildContext';

export interface UploadMetadata {
  contentType: string;
  name: string;
  /** uint64 as a decimal string, as proto-loader hands 64-bit integers over with `longs: String`. */
  expectedSizeBytes: string;
}

export type UploadRequest = { metadata: UploadMetadata; chunk?: undefined } | { chunk: Buffer; metadata?: undefined };

export interface UploadResponse {
  contextId: string;
  sizeBytes: string;
}

let cached: protoLoader.PackageDefinition | undefined;

export function loadBuildProto(): protoLoader.PackageDefinition {
  // 64-bit integers as strings: size_bytes must not lose precision past 2^53.
  cached ??= protoLoader.loadSync(BUILD_PROTO, {
    includeDirs: [PROTO_ROOT],
    longs: String,
    defaults: true,
    oneofs: true,
  });
  return cached;
}

export function uploadMethodDefinition(): protoLoader.MethodDefinition<UploadRequest, UploadResponse> {
  const service = loadBuildProto()['dodil.ignite.v1.BuildService'] as protoLoader.ServiceDefinition;
  return service['UploadBuildContext'] as protoLoader.MethodDefinition<UploadRequest, UploadResponse>;
}
