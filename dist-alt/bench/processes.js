import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
const DIST_SRC = fileURLToPath(new URL('../src/', import.meta.url));
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)
/** Starts a compiled entry point and resolves with the first stdout JSON line `pick` accepts. */
async function startNode(entry, env, pick, nodeArgs = []) {
    const proc = spawn(process.execPath, [...nodeArgs, DIST_SRC + entry], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const value = await new Promise((resolve, reject) => {
        const lines = createInterface({ input: proc.stdout });
        // Keep reading for the process's whole life: request logs must never fill the pipe and block it.
        lines.on('line', (line) => {
            let parsed;
            try {
                parsed = JSON.parse(line);
            }
            catch {
                return;
            }
            const found = pick(parsed);
            if (found)
                resolve(found);
        });
        proc.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before it was listening`)));
    });
    const child = {
        pid: proc.pid,
        process: proc,
        stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null)
                proc.kill('SIGTERM');
            const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(timer);
        },
    };
    return { child, value };
}
/** The reference upstream in discard mode (no disk in the figures), as its own process. */
export async function startUpstream(env = {}) {
    const { child, value } = await startNode('reference-upstream/main.js', { HOST: '127.0.0.1', PORT: '0', REFERENCE_DISCARD: 'true', IGNITE_DATA_DIR: 'bench-results/data', ...env }, (line) => (typeof line['listening'] === 'string' ? line['listening'] : undefined));
    return { child, target: value };
}
/** The bridge as its own process; its listening URL comes from its info-level start-up log line. */
export async function startBridge(target, nodeArgs = [], env = {}) {
    const { child, value } = await startNode('main.js', { HOST: '127.0.0.1', PORT: '0', IGNITE_GRPC_TARGET: target, LOG_LEVEL: 'info', ...env }, (line) => (typeof line['url'] === 'string' ? line['url'] : undefined), nodeArgs);
    return { child, url: value };
}
function statusField(pid, field) {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
}
/** Resident set size now, in bytes. */
export const rss = (pid) => statusField(pid, 'VmRSS');
/** Peak resident set size since start or since the last resetPeak, in bytes. */
export const peakRss = (pid) => statusField(pid, 'VmHWM');
/**
 * Resets VmHWM to the current RSS (Linux ≥ 4.0: `echo 5 > /proc/PID/clear_refs`), so the next
 * reading is the peak of what ran in between. Returns false where the kernel refuses it.
 */
export function resetPeak(pid) {
    try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
    }
    catch {
        return false;
    }
}
/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
/** Samples VmRSS every `everyMs` until stopped: a second opinion next to VmHWM. */
export function sampleRss(pid, everyMs = 25) {
    let max = rss(pid);
    const timer = setInterval(() => {
        try {
            max = Math.max(max, rss(pid));
        }
        catch {
            // the process ended
        }
    }, everyMs);
    return () => {
        clearInterval(timer);
        return max;
    };
}
//# sourceMappingURL=processes.js.map