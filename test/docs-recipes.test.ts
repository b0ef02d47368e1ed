import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startStack, zipOf } from './helpers.js';
import { docFiles, printedJson, readDoc, runnableBlocks, shellBlocks, type RunnableBlock } from './docs.js';

const SECRET = 'recipe-webhook-secret';
const BLOCK_TIMEOUT_MS = 20_000;

interface Bridges {
  plain: string;
  webhook: string;
}

/** The example files a reader has: a real tar.gz (packed by tar) and a real zip. */
async function exampleDirectory(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'docs-recipes-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await run('mkdir -p example && printf "FROM scratch\\nCOPY . /app\\n" > example/Dockerfile && tar -cz -f ctx.tar.gz -C example .', dir, {});
  await writeFile(join(dir, 'ctx.zip'), zipOf('Dockerfile', Buffer.from('FROM scratch\n')));
  return dir;
}

async function run(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env }, timeout: BLOCK_TIMEOUT_MS });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const [code] = await once(child, 'close') as [number | null];
  return { code, ...out };
}

async function runBlock(file: string, block: RunnableBlock, dir: string, bridges: Bridges): Promise<void> {
  const where = `${file}:${block.line}`;
  const env: Record<string, string> = block.mode === 'webhook' ? { BRIDGE: bridges.webhook, WEBHOOK_SECRET: SECRET } : { BRIDGE: bridges.plain };
  const result = await run(block.script, dir, env);
  const said = `\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  assert.equal(result.code, 0, `${where} exited ${result.code}${said}`);
  const printed = printedJson(result.stdout) as Array<Record<string, unknown>>;
  const errors = printed.filter((value) => value !== null && typeof value === 'object' && 'code' in value);
  if (block.mode === 'error') assert.ok(errors.length > 0, `${where} is marked as showing an error but printed none${said}`);
  else {
    assert.ok(printed.length > 0, `${where} printed no JSON answer${said}`);
    assert.deepEqual(errors, [], `${where} printed an error${said}`);
  }
}

describe('the runnable recipes in README.md and docs/', async () => {
  const files = await docFiles();

  test('every run marker is in front of a sh block, and every curl recipe in the README is runnable', async () => {
    for (const file of files) runnableBlocks(await readDoc(file));
    const unmarked = shellBlocks(await readDoc('README.md')).filter((b) => !b.marked && /\bcurl\b/.test(b.script));
    assert.deepEqual(unmarked.map((b) => `README.md:${b.line}`), [], 'README curl blocks without <!-- run -->');
  });

  for (const file of files) {
    test(`${file}: each runnable block exits 0 and prints JSON without an error`, async (t) => {
      const blocks = runnableBlocks(await readDoc(file));
      if (blocks.length === 0) return;
      const plain = await startStack(t);
      const webhook = blocks.some((b) => b.mode === 'webhook')
        ? await startStack(t, { config: { webhookSecret: SECRET, serviceToken: 'recipe-service-token' } })
        : plain;
      // One directory per page, the blocks in order: as a reader who follows the page.
      const dir = await exampleDirectory(t);
      for (const block of blocks) await runBlock(file, block, dir, { plain: plain.baseUrl, webhook: webhook.baseUrl });
    });
  }
});
