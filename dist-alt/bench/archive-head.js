/**
 * What the archive head's proof costs per upload (DESIGN: ~0.16 ms, 1.6 ms
 * when 64 KiB inflate to the 4 MiB cap): `node dist/bench/archive-head.js`.
 */
import { readFile } from 'node:fs/promises';
import { ArchiveHead, ARCHIVE_HEAD_BYTES } from '../src/upload/archive-head.js';
import { tarGzOfSize } from '../test/tar-gz.js';
const fixtures = new URL('../../test/fixtures/archives/', import.meta.url);
const heads = [
    ['compressed tar.gz (pigz)', await readFile(new URL('pigz.tar.gz', fixtures))],
    ['stored tar.gz (test fixture)', tarGzOfSize(1024 * 1024)],
    ['200 MB of zeros first (inflates to the cap)', await readFile(new URL('zeros-first.tar.gz', fixtures))],
];
const RUNS = 2000;
for (const [what, archive] of heads) {
    const head = archive.subarray(0, ARCHIVE_HEAD_BYTES);
    for (let i = 0; i < 200; i++)
        new ArchiveHead().prove('application/gzip', head, false);
    const started = process.hrtime.bigint();
    for (let i = 0; i < RUNS; i++)
        new ArchiveHead().prove('application/gzip', head, false);
    const ms = Number(process.hrtime.bigint() - started) / 1e6 / RUNS;
    console.log(`${what}: ${ms.toFixed(3)} ms per upload (${head.length} bytes of head)`);
}
//# sourceMappingURL=archive-head.js.map