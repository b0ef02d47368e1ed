import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { serializeChunk } from '../src/grpc/chunk-serializer.js';
import { uploadMethodDefinition } from '../src/grpc/proto.js';
import { archiveChunks } from './payload.js';
/**
 * The ceiling: the same archive streamed straight to the upstream by a plain
 * grpc-js client in 512 KiB chunks, with grpc-js's own flow control (write()
 * until it returns false, then wait for 'drain'). By default it uses the
 * bridge's zero-copy chunk serializer; 'protobufjs' uses proto-loader's.
 */
export class DirectClient {
    client;
    method = uploadMethodDefinition();
    constructor(target, channelOptions = {}) {
        this.client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0, ...channelOptions });
    }
    async upload(size, serializer = 'hand-written', small) {
        const method = this.method;
        const serialize = serializer === 'protobufjs'
            ? (request) => method.requestSerialize(request)
            : (request) => (request.chunk ? serializeChunk(request.chunk) : method.requestSerialize(request));
        const length = small ? small.length : size;
        let call;
        const answer = new Promise((resolve, reject) => {
            call = this.client.makeClientStreamRequest(method.path, serialize, method.responseDeserialize, new grpc.Metadata(), {}, (err, response) => (err || !response ? reject(err ?? new Error('no response')) : resolve(response)));
        });
        call.write({ metadata: { name: 'bench.tar.gz', contentType: 'application/gzip', expectedSizeBytes: String(length) } });
        for (const chunk of small ? [small] : archiveChunks(size)) {
            if (!call.write({ chunk }))
                await once(call, 'drain');
        }
        call.end();
        const response = await answer;
        if (response.sizeBytes !== String(length))
            throw new Error(`upstream received ${response.sizeBytes} of ${length} bytes`);
    }
    close() {
        this.client.close();
    }
}
//# sourceMappingURL=direct-upload.js.map