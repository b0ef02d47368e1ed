import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
/** Compiled tests live in dist/test/: the repository root is two levels up. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = 'scripts/build-if-changed.js';
function build(dir) {
    return new Promise((resolve) => {
        execFile(process.execPath, [join(dir, SCRIPT)], { cwd: dir }, (err, stdout, stderr) => {
            const output = stdout + stderr;
            resolve({ code: err ? Number(err.code ?? 1) : 0, compiled: output.includes('compiling'), output });
        });
    });
}
describe('npm start, npm test and npm run upstream compile only when a source changed', () => {
    test('their pre-scripts run build-if-changed; npm run build always compiles', async () => {
        const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
        for (const name of ['prestart', 'pretest', 'preupstream'])
            assert.equal(scripts[name], `node ${SCRIPT}`, name);
        assert.equal(scripts['build'], `node ${SCRIPT} --always`);
    });
    test('a fresh checkout compiles; nothing changed skips tsc; an edit, a deleted file or a failed build compiles again', { timeout: 120_000 }, async (t) => {
        // A project of two files with this repository's script and node_modules (for tsc).
        const dir = await mkdtemp(join(tmpdir(), 'build-if-changed-'));
        t.after(() => rm(dir, { recursive: true, force: true }));
        await mkdir(join(dir, 'scripts'));
        await mkdir(join(dir, 'src'));
        await cp(join(ROOT, SCRIPT), join(dir, SCRIPT));
        await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
        await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
        await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
            compilerOptions: { module: 'NodeNext', target: 'ES2022', strict: true, rootDir: '.', outDir: 'dist', types: [], skipLibCheck: true },
            include: ['src/**/*.ts'],
        }));
        await writeFile(join(dir, 'src/answer.ts'), 'export const answer: number = 1;\n');
        await writeFile(join(dir, 'src/other.ts'), 'export const other = 2;\n');
        const emitted = () => readFile(join(dir, 'dist/src/answer.js'), 'utf8');
        let run = await build(dir);
        assert.deepEqual([run.code, run.compiled], [0, true], run.output);
        assert.match(await emitted(), /answer = 1;/);
        run = await build(dir);
        assert.deepEqual([run.code, run.compiled], [0, false], run.output);
        await writeFile(join(dir, 'src/answer.ts'), 'export const answer: number = 42;\n');
        run = await build(dir);
        assert.deepEqual([run.code, run.compiled], [0, true], run.output);
        assert.match(await emitted(), /answer = 42;/);
        await unlink(join(dir, 'src/other.ts'));
        run = await build(dir);
        assert.deepEqual([run.code, run.compiled], [0, true], 'a deleted file is a change');
        await writeFile(join(dir, 'src/answer.ts'), 'export const answer: number = "not a number";\n');
        run = await build(dir);
        assert.notEqual(run.code, 0, 'a type error fails the start');
        run = await build(dir);
        assert.deepEqual([run.code !== 0, run.compiled], [true, true], 'and is compiled (and reported) again next time');
    });
});
//# sourceMappingURL=build-if-changed.test.js.map