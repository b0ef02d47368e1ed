import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { assertRefusal, gzipLike, startStack, warmUp, type Stack } from './helpers.js';
import { head, RawClient, type RawResponse } from './raw-http.js';

const PATH = '/v1/ignite/contexts/ctx.tar.gz';

async function exchange(stack: Stack, bytes: string | Buffer): Promise<RawResponse> {
  const client = await RawClient.connect(stack.baseUrl);
  await client.write(bytes);
  const response = await client.response();
  await client.closed;
  return response;
}

function assertContractError(response: RawResponse, status: number, code: number, message: RegExp): void {
  assert.match(response.headers['content-type'] ?? '', /^application\/json/);
  assertRefusal(response, status, code, message);
}

async function metric(stack: Stack, pattern: RegExp): Promise<number> {
  const text = await (await request(`${stack.baseUrl}/metrics`)).body.text();
  const line = text.split('\n').find((l) => pattern.test(l));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('malformed HTTP gets the contract\'s answer', () => {
  test('bad chunk framing in the middle of an upload: 400, the call is cancelled, counted as malformed and never as a client abort', async (t) => {
    const stack = await startStack(t);
    await warmUp(stack);
    const archive = gzipLike(700_000);
    const client = await RawClient.connect(stack.baseUrl);
    const observed = stack.nextObservation();
    await client.write(head('PUT', PATH, { 'transfer-encoding': 'chunked' }));
    await client.write(Buffer.concat([Buffer.from(`${archive.length.toString(16)}\r\n`), archive, Buffer.from('\r\n')]));
    await client.write('not-hex\r\nsomething\r\n');
    const response = await client.response();
    assertContractError(response, 400, 3, /not valid HTTP\/1\.1.*chunk/i);
    assert.equal(response.headers['connection'], 'close');
    const call = await observed;
    assert.equal(call.outcome, 'cancelled', 'the call was opened, and cancelled: the body never completed');
    client.destroy();
    assert.equal(await metric(stack, /^ignite_bridge_uploads_total\{.*outcome="malformed"/), 1);
    assert.equal(await metric(stack, /^ignite_bridge_uploads_total\{.*outcome="client_aborted"/), 0);
    assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="400"\}/), 1);
  });

  test('Content-Length with Transfer-Encoding: 400 in the contract\'s shape, before any call', async (t) => {
    const stack = await startStack(t);
    const response = await exchange(stack, head('PUT', PATH, { 'content-length': 10, 'transfer-encoding': 'chunked' }) + '0\r\n\r\n');
    assertContractError(response, 400, 3, /not valid HTTP\/1\.1/);
    assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="400"\}/), 1);
    assert.equal(stack.observed.length, 0, 'no call was opened');
  });

  test('20 KB of headers: 431 with code 3', async (t) => {
    const stack = await startStack(t);
    const response = await exchange(stack, head('PUT', PATH, { 'content-length': 10, 'x-padding': 'p'.repeat(20_000) }));
    assertContractError(response, 431, 3, /headers are too large/);
    assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="431"\}/), 1);
  });

  test('headers sent too slowly: 408 with code 4', async (t) => {
    const stack = await startStack(t, { http: { headersTimeout: 300, connectionsCheckingInterval: 50 } });
    const response = await exchange(stack, `PUT ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    assertContractError(response, 408, 4, /headers did not arrive in time/);
    assert.equal(await metric(stack, /^ignite_bridge_malformed_requests_total\{status="408"\}/), 1);
  });
});
