import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The bridge as released before the "sent" state (no Lua deadline, no sent
 * mark): a rolling deploy runs it next to the current one on the same Redis.
 */
export const PREVIOUS_VERSION = 'cecf6ab8202f38efce471c8dbd6412101de029bc';

/** The bridge as released before builds (it ignores `?build=`): it must read the build step's records as taken, never free. */
export const PRE_BUILD_VERSION = '025a501413a2e4622c00905ed5fd5223ca0cf609';

/**
 * Compiles `commit`'s bridge from this repository's git history into a temp
 * dir (kept per commit, so later runs reuse it) with this checkout's
 * node_modules and tsc; returns its `main.js`.
 */
export async function buildVersion(commit: string): Promise<string> {
  const dir = join(tmpdir(), `ignite-bridge-${commit}`);
  const main = join(dir, 'dist', 'src', 'main.js');
  const built = join(dir, '.built');
  const modules = join(ROOT, 'node_modules');
  if (existsSync(built)) {
    // Built by another checkout of the project (which may be gone since): run on this one's packages.
    if (await readlink(join(dir, 'node_modules')).catch(() => undefined) !== modules) {
      await rm(join(dir, 'node_modules'), { force: true });
      await symlink(modules, join(dir, 'node_modules'), 'dir');
    }
    return main;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', commit, 'src', 'proto', 'public', 'openapi.yaml', 'tsconfig.json', 'package.json'],
    { maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  await symlink(modules, join(dir, 'node_modules'), 'dir');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  await writeFile(built, commit);
  return main;
}
