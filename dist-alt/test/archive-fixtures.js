import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { zipOf } from './helpers.js';
import { tarHeader } from './tar-gz.js';
/** A tar of random and compressible bytes: a real tar.gz of several hundred KiB, so it spans several reads and chunks. */
export function realGzip() {
    const content = Buffer.concat([randomBytes(384 * 1024), Buffer.from('const line = "compressible source text";\n'.repeat(24 * 1024)), randomBytes(256 * 1024)]);
    const raw = Buffer.concat([tarHeader('src.bin', content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512 + 1024)]);
    return { gz: gzipSync(raw), raw };
}
/** An outer zip whose only entry is a stored zip, and the outer one cut right after the inner one's bytes. */
export function zipInZip() {
    const inner = zipOf('inner.txt', randomBytes(300 * 1024));
    const whole = zipOf('inner.zip', inner);
    const innerEnd = 30 + 'inner.zip'.length + inner.length;
    assert.deepEqual(whole.subarray(innerEnd - inner.length, innerEnd), inner);
    return { whole, cutAfterInner: whole.subarray(0, innerEnd) };
}
//# sourceMappingURL=archive-fixtures.js.map