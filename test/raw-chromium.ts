/**
 * Headless Chromium driven over the bare DevTools protocol, without Playwright: Playwright turns on
 * the Network domain, whose buffer keeps request bodies in the renderer (up to about 200 MB), which
 * would hide what a page itself holds. Here only Target, Runtime, DOM and SystemInfo are used.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { WebSocket } from 'undici';
import { findChromium } from './browser.js';

export interface RawPage {
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` every 100 ms until it is truthy. */
  waitFor(expression: string, timeoutMs: number): Promise<void>;
  setInputFiles(selector: string, paths: string[]): Promise<void>;
  /** The renderer processes' ids (SystemInfo.getProcessInfo). */
  rendererPids(): Promise<number[]>;
}

export async function openRawPage(t: TestContext, url: string): Promise<RawPage> {
  const found = await findChromium();
  const profile = await mkdtemp(join(tmpdir(), 'raw-chromium-'));
  const child = spawn(found.executablePath, [
    '--headless=new', '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--no-sandbox', '--disable-gpu',
    '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', 'about:blank',
  ], { env: { ...process.env, ...found.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(async () => {
    child.kill('SIGKILL');
    await rm(profile, { recursive: true, force: true });
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`Chromium exited ${code}: ${output}`)));
  });
  const ws = new WebSocket(endpoint);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve);
    ws.addEventListener('error', reject);
  });
  t.after(() => ws.close());
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = <T>(method: string, params: object = {}, sessionId?: string) => new Promise<T>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });
  const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url });
  const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
  const evaluate = async <T>(expression: string) => {
    const { result, exceptionDetails } = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.text}`);
    return result.value;
  };
  const waitFor = async (expression: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await evaluate<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await waitFor("document.readyState === 'complete'", 20_000);
  return {
    evaluate,
    waitFor,
    async setInputFiles(selector, files) {
      const { root } = await send<{ root: { nodeId: number } }>('DOM.getDocument', {}, sessionId);
      const { nodeId } = await send<{ nodeId: number }>('DOM.querySelector', { nodeId: root.nodeId, selector }, sessionId);
      await send('DOM.setFileInputFiles', { files, nodeId }, sessionId);
    },
    async rendererPids() {
      const { processInfo } = await send<{ processInfo: { type: string; id: number }[] }>('SystemInfo.getProcessInfo');
      return processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
    },
  };
}

/** Renderer RSS in MiB, the largest of the given processes (from /proc). */
export async function rssMiB(pids: number[]): Promise<number> {
  let largest = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    largest = Math.max(largest, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  }
  return largest;
}
