import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loggerOptions } from '../src/observability/logger.js';
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOGGER = new URL('../src/observability/logger.js', import.meta.url).href;
/** Logs two events through Fastify in a child process, as `npm start` would, and returns its stdout. */
async function logTwoEvents(format) {
    const script = `
    import Fastify from 'fastify';
    import { loggerOptions } from ${JSON.stringify(LOGGER)};
    const app = Fastify({ logger: loggerOptions({ logLevel: 'info' }, undefined, ${format}) });
    app.log.info({ contextId: 'ctx_1', headers: { authorization: 'Bearer secret' } }, 'upload stored');
    app.log.warn('second event');
    await app.close();
  `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' } });
    return stdout.trimEnd().split('\n');
}
describe('log format', () => {
    test('JSON lines when stdout is not a terminal, and always into a given stream', () => {
        assert.equal(Boolean(process.stdout.isTTY), false, 'node --test runs files with stdout piped');
        assert.equal(loggerOptions({ logLevel: 'info' }).transport, undefined);
        assert.equal(loggerOptions({ logLevel: 'info' }, { write: () => { } }, { pretty: true }).transport, undefined);
    });
    test('at a terminal: pino-pretty, one line per event, secrets still redacted', { timeout: 30_000 }, async () => {
        const lines = await logTwoEvents('{ pretty: true }');
        assert.equal(lines.length, 2, lines.join('\n'));
        assert.match(lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: upload stored \{.*"contextId":"ctx_1".*\}$/);
        assert.match(lines[0], /"authorization":"\[redacted\]"/);
        assert.match(lines[1], /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: second event$/);
    });
    test('otherwise JSON, one object per line', { timeout: 30_000 }, async () => {
        const lines = await logTwoEvents('{ pretty: false }');
        assert.deepEqual(lines.map((line) => JSON.parse(line).msg), ['upload stored', 'second event']);
    });
    test('pino-pretty is a runtime dependency: npm start and the image use it', async () => {
        const { dependencies } = JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8'));
        assert.ok(dependencies['pino-pretty']);
    });
});
//# sourceMappingURL=logger.test.js.map