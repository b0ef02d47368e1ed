import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { request } from 'undici';
import { gzipLike, startStack, unusedPort } from './helpers.js';
const require = createRequire(import.meta.url);
async function readyz(stack) {
    const res = await request(`${stack.baseUrl}/readyz`);
    return { status: res.statusCode, body: await res.body.json() };
}
describe('health endpoints', () => {
    test('/healthz answers while the process lives; /readyz is 200 while accepting and 503 while draining', async (t) => {
        const stack = await startStack(t);
        const health = await request(`${stack.baseUrl}/healthz`);
        assert.equal(health.statusCode, 200);
        assert.deepEqual(await health.body.json(), { status: 'ok' });
        let ready = await readyz(stack);
        for (let i = 0; i < 50 && ready.body.upstream.state !== 'READY'; i++) {
            await sleep(20);
            ready = await readyz(stack);
        }
        assert.equal(ready.status, 200);
        assert.deepEqual(ready.body, { status: 'ready', uploadsInFlight: 0, upstream: { target: stack.reference.target, state: 'READY' } });
        stack.app.uploadGate.drain();
        const draining = await readyz(stack);
        assert.equal(draining.status, 503);
        assert.equal(draining.body.status, 'draining');
        assert.equal((await request(`${stack.baseUrl}/healthz`)).statusCode, 200, 'alive while draining');
    });
    test('an upstream outage shows in /readyz and the metric but leaves the bridge ready', async (t) => {
        const stack = await startStack(t, { target: `127.0.0.1:${await unusedPort()}` });
        const upload = await request(`${stack.baseUrl}/v1/ignite/contexts/a.tar.gz`, { method: 'PUT', body: gzipLike(1000) });
        assert.equal(upload.statusCode, 503);
        await upload.body.text();
        let ready = await readyz(stack);
        for (let i = 0; i < 50 && ready.body.upstream.state !== 'TRANSIENT_FAILURE'; i++) {
            await sleep(20);
            ready = await readyz(stack);
        }
        assert.equal(ready.status, 200);
        assert.equal(ready.body.status, 'ready');
        assert.equal(ready.body.upstream.state, 'TRANSIENT_FAILURE');
        const metrics = await (await request(`${stack.baseUrl}/metrics`)).body.text();
        assert.match(metrics, /^ignite_bridge_upstream_channel_state\{state="TRANSIENT_FAILURE"\} 1$/m);
        assert.match(metrics, /^ignite_bridge_upstream_channel_state\{state="READY"\} 0$/m);
    });
});
describe('the reference upstream for grpcurl and probes', () => {
    test('serves grpc.health.v1.Health and server reflection', async (t) => {
        const stack = await startStack(t);
        const credentials = grpc.credentials.createInsecure();
        const health = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String }));
        const healthClient = new health.grpc.health.v1.Health(stack.reference.target, credentials);
        t.after(() => healthClient.close());
        const check = (service) => new Promise((resolve, reject) => healthClient
            .Check({ service }, (err, res) => (err ? reject(err) : resolve(res))));
        assert.equal((await check('')).status, 'SERVING');
        assert.equal((await check('dodil.ignite.v1.BuildService')).status, 'SERVING');
        const reflectionProto = join(require.resolve('@grpc/reflection/package.json'), '..', 'build/proto/grpc/reflection/v1/reflection.proto');
        const reflection = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto));
        const reflectionClient = new reflection.grpc.reflection.v1.ServerReflection(stack.reference.target, credentials);
        t.after(() => reflectionClient.close());
        const call = reflectionClient.ServerReflectionInfo();
        const services = await new Promise((resolve, reject) => {
            call.on('data', (res) => {
                resolve(res.listServicesResponse?.service.map((s) => s.name) ?? []);
                call.end();
            });
            call.on('error', reject);
            call.write({ listServices: '' });
        });
        assert.ok(services.includes('dodil.ignite.v1.BuildService'), services.join());
        assert.ok(services.includes('grpc.health.v1.Health'), services.join());
    });
});
//# sourceMappingURL=health.test.js.map