import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { test } from 'node:test';
import { request } from 'undici';
import { gzipLike, startStack, warmUp, type Stack } from './helpers.js';

const CHUNK_BYTES = 512 * 1024;

/** Timers created in this process (bridge, upstream and client alike) while one upload runs to its answer. */
async function timersDuring(stack: Stack, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  let timers = 0;
  const hook = createHook({ init(_id, type) { if (type === 'Timeout') timers++; } }).enable();
  try {
    const res = await request(`${stack.baseUrl}${path}`, { method: path.endsWith('contexts') ? 'POST' : 'PUT', body, headers });
    assert.equal(res.statusCode, 200, await res.body.text());
    await res.body.dump();
  } finally {
    hook.disable();
  }
  return timers;
}

function multipart(file: Buffer): { body: Buffer; headers: Record<string, string> } {
  const boundary = 'timers-per-upload';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nctx.tar.gz\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ctx.tar.gz"\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="relativePath"\r\n\r\nctx\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, file, tail]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

// Per-request cost: a timer per chunk (or per form part) is work the floor does not do.
test('an upload arms no timer per chunk: one of 16 chunks creates no more timers than one of a single chunk', async (t) => {
  const stack = await startStack(t);
  await warmUp(stack);
  const small = gzipLike(1000);
  const large = gzipLike(16 * CHUNK_BYTES);
  const raw = { small: await timersDuring(stack, '/v1/ignite/contexts/ctx.tar.gz', small), large: await timersDuring(stack, '/v1/ignite/contexts/ctx.tar.gz', large) };
  const form = { small: await timersDuring(stack, '/v1/ignite/contexts', multipart(small).body, multipart(small).headers), large: await timersDuring(stack, '/v1/ignite/contexts', multipart(large).body, multipart(large).headers) };
  t.diagnostic(`timers: raw ${JSON.stringify(raw)}, multipart ${JSON.stringify(form)}`);
  assert.ok(raw.large - raw.small <= 2, `raw: ${raw.large} timers for 16 chunks, ${raw.small} for one`);
  assert.ok(form.large - form.small <= 2, `multipart: ${form.large} timers for 16 chunks, ${form.small} for one`);
});
