import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocChunk, recycleChunk, trimSpareChunks } from '../src/grpc/chunk-serializer.js';
// A file of its own: node --test runs it in a fresh process, so the pool starts empty.
test("a burst of uploads reuses every chunk of the last burst; a trim drops only what a whole interval did not draw on", () => {
    const size = 524288;
    const first = Array.from({ length: 40 }, () => allocChunk(size));
    for (const chunk of first)
        recycleChunk(chunk);
    const fromFirst = new Set(first.map((chunk) => chunk.buffer));
    const second = Array.from({ length: 40 }, () => allocChunk(size));
    assert.equal(new Set(second.map((chunk) => chunk.buffer)).size, 40, 'no chunk is handed out twice at once');
    assert.equal(second.filter((chunk) => fromFirst.has(chunk.buffer)).length, 40, 'every chunk of the second burst was one of the first');
    assert.ok(second.every((chunk) => chunk.length === size));
    for (const chunk of second)
        recycleChunk(chunk);
    assert.equal(trimSpareChunks(), 40, 'the pool was drawn on during this interval: nothing dropped');
    assert.equal(trimSpareChunks(), 8, 'a whole interval without use: back to the minimum');
    const third = Array.from({ length: 8 }, () => allocChunk(size));
    assert.equal(third.filter((chunk) => fromFirst.has(chunk.buffer)).length, 8, 'the kept ones are still reused');
});
test('a chunk handed back twice is pooled once, so it is never handed out twice', () => {
    const chunk = allocChunk(1000);
    recycleChunk(chunk);
    recycleChunk(chunk.subarray(0));
    const a = allocChunk(1000);
    const b = allocChunk(1000);
    assert.notEqual(a.buffer, b.buffer);
});
//# sourceMappingURL=chunk-pool.test.js.map