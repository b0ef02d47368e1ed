import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { unusedPort } from './helpers.js';
const run = promisify(execFile);
/** Compiled tests live in dist/test/: the repository root is two levels up. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Dockerfile instructions by stage, continuation lines joined, ARG defaults substituted into FROM. */
function parseDockerfile(text) {
    const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const args = {};
    const stages = [];
    for (const line of lines) {
        const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
        const upper = keyword.toUpperCase();
        if (upper === 'ARG' && stages.length === 0) {
            const [name, value = ''] = rest.split('=');
            args[name] = value;
        }
        else if (upper === 'FROM') {
            const [image, as, name] = rest.replace(/\$\{(\w+)\}/g, (_, arg) => args[arg] ?? '').split(/\s+/);
            stages.push({ from: image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
        }
        else {
            assert.ok(stages.length, `${upper} before FROM`);
            stages.at(-1).instructions.push({ keyword: upper, args: rest });
        }
    }
    return stages;
}
/** COPY [--from=stage] src... dest */
function parseCopy(args) {
    const words = args.split(/\s+/);
    const from = words[0]?.startsWith('--from=') ? words.shift().slice('--from='.length) : undefined;
    const dest = words.pop();
    return { from, sources: words, dest };
}
function env(stage) {
    const values = {};
    for (const { args } of stage.instructions.filter((i) => i.keyword === 'ENV')) {
        for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g))
            values[key] = value;
    }
    return values;
}
const exists = (path) => stat(path).then(() => true, () => false);
describe('Dockerfile', async () => {
    const dockerfile = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
    const final = dockerfile.at(-1);
    const build = dockerfile.find((s) => s.name === 'build');
    const ignored = (await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const workdir = (stage) => stage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
    test('multi-stage on a pinned Node 24, non-root, HOST=0.0.0.0, EXPOSE 8080, HEALTHCHECK on /healthz', () => {
        assert.ok(dockerfile.length >= 2 && build, 'a build stage and a final stage');
        for (const stage of dockerfile)
            assert.match(stage.from, /^node:24\.\d+\.\d+-[a-z]+-slim$/, 'an exact Node 24 version tag');
        assert.ok(build.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)));
        assert.ok(build.instructions.some((i) => i.keyword === 'RUN' && /\btsc\b|npm run build/.test(i.args)));
        assert.ok(final.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci --omit=dev\b/.test(i.args)), 'production dependencies only');
        const user = final.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
        assert.ok(user && user !== 'root' && user !== '0', `runs as ${user}`);
        assert.equal(env(final)['HOST'], '0.0.0.0');
        assert.ok(final.instructions.some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes('8080')));
        const healthcheck = final.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
        assert.match(healthcheck, /CMD \["node",.*\/healthz/);
    });
    test('every path it copies exists and is not excluded by .dockerignore', async () => {
        for (const stage of dockerfile) {
            for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args))) {
                for (const source of copy.sources) {
                    if (copy.from) {
                        // Built in that stage: the same tsc output exists here after `npm run build`.
                        const origin = dockerfile.find((s) => s.name === copy.from);
                        assert.ok(origin, `COPY --from=${copy.from}: no such stage`);
                        const relative = source.replace(new RegExp(`^${workdir(origin)}/`), '');
                        assert.ok(await exists(join(ROOT, relative)), `COPY --from=${copy.from} ${source}: ${relative} is not built`);
                    }
                    else {
                        assert.ok(await exists(join(ROOT, source)), `COPY ${source}: missing from the repository`);
                        assert.ok(!ignored.some((pattern) => pattern === source || source.startsWith(`${pattern}/`)), `COPY ${source} is excluded by .dockerignore`);
                    }
                }
            }
        }
    });
    test('its CMD starts the service from a production-only install and the HEALTHCHECK passes', { timeout: 240_000 }, async (t) => {
        const app = await mkdtemp(join(tmpdir(), 'bridge-image-'));
        t.after(() => rm(app, { recursive: true, force: true }));
        // The final stage's COPY steps, from the repository or from this checkout's build output.
        for (const copy of final.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args))) {
            for (const source of copy.sources) {
                const from = copy.from ? join(ROOT, source.replace(new RegExp(`^${workdir(build)}/`), '')) : join(ROOT, source);
                // A destination ending in / is a directory the file goes into (directories here are copied to a named path).
                await cp(from, copy.dest.endsWith('/') ? join(app, copy.dest, basename(from)) : join(app, copy.dest), { recursive: true });
            }
        }
        await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], { cwd: app, env: { ...process.env, NODE_ENV: 'production' } });
        assert.ok(!(await exists(join(app, 'node_modules/typescript'))), 'devDependencies are not installed');
        assert.ok(await exists(join(app, 'node_modules/fastify')));
        const cmd = JSON.parse(final.instructions.find((i) => i.keyword === 'CMD').args);
        assert.equal(cmd[0], 'node');
        const port = await unusedPort();
        const imageEnv = { ...env(final), PORT: String(port), IGNITE_DATA_DIR: join(app, 'data'), IGNITE_REFERENCE_TOKEN: 'image-test-token' };
        const child = spawn(process.execPath, cmd.slice(1), {
            cwd: app,
            env: { PATH: dirname(process.execPath), ...imageEnv },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        t.after(() => child.kill('SIGKILL'));
        let output = '';
        child.stderr.on('data', (d) => (output += d.toString()));
        await new Promise((resolve, reject) => {
            child.stdout.on('data', (d) => {
                output += d.toString();
                if (output.includes('listening on'))
                    resolve();
            });
            child.on('close', (code) => reject(new Error(`the CMD exited ${code}: ${output}`)));
        });
        const res = await request(`http://127.0.0.1:${port}/healthz`);
        assert.equal(res.statusCode, 200);
        await res.body.text();
        const openapi = await request(`http://127.0.0.1:${port}/openapi.yaml`);
        assert.equal(openapi.statusCode, 200, 'openapi.yaml is in the image');
        await openapi.body.text();
        const healthcheck = final.instructions.find((i) => i.keyword === 'HEALTHCHECK').args;
        const probe = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));
        const result = await run(process.execPath, probe.slice(1), { env: { PATH: '', PORT: String(port) } }).then(() => 0, (err) => err.code);
        assert.equal(result, 0, 'the HEALTHCHECK command passes');
    });
});
//# sourceMappingURL=dockerfile.test.js.map