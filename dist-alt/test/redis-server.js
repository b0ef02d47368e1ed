import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedPort } from './helpers.js';
/**
 * Whether Debian's `redis-server` is on this machine. The Redis suites need
 * the real server (never a mock); without it they are skipped with this hint,
 * the only skip the suite allows (`.ci/run` installs it).
 */
export const redisSkip = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
    ? false
    : 'redis-server is not installed: apt-get install redis-server';
/** A real redis-server on a free loopback port, in a temp dir, without persistence. */
export class RedisServer {
    port;
    dir;
    child;
    exited = Promise.resolve();
    constructor(port, dir) {
        this.port = port;
        this.dir = dir;
    }
    /** Started for one test and stopped after it; `start()` alone leaves the `stop()` to the caller. */
    static async start(t) {
        const server = new RedisServer(await unusedPort(), await mkdtemp(join(tmpdir(), 'bridge-redis-')));
        t?.after(() => server.stop());
        await server.restart();
        return server;
    }
    async stop() {
        await this.kill();
        await rm(this.dir, { recursive: true, force: true });
    }
    get url() {
        return `redis://127.0.0.1:${this.port}`;
    }
    /** Starts it (again) on the same port; resolves once it accepts connections. */
    async restart() {
        const child = spawn('redis-server', [
            '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
            '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--maxmemory-policy', 'noeviction',
        ], { stdio: ['ignore', 'pipe', 'pipe'] });
        this.child = child;
        this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
        let output = '';
        await new Promise((resolve, reject) => {
            const onData = (data) => {
                output += data.toString();
                if (output.includes('Ready to accept connections')) {
                    child.stdout.removeListener('data', onData);
                    child.stdout.resume();
                    resolve();
                }
            };
            child.stdout.on('data', onData);
            child.stderr.on('data', (data) => (output += data.toString()));
            void this.exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${output}`)));
        });
    }
    /** SIGKILL: gone at once, like a crashed node; everything in it is lost (no persistence). */
    async kill() {
        if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
            this.child.kill('SIGCONT');
            this.child.kill('SIGKILL');
        }
        await this.exited;
    }
    /** SIGSTOP / SIGCONT: a Redis that hangs with its connections open. */
    pause() {
        this.child?.kill('SIGSTOP');
    }
    resume() {
        this.child?.kill('SIGCONT');
    }
}
//# sourceMappingURL=redis-server.js.map