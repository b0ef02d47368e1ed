// Compiles with tsc, and bundles the upload page's script (page/ → dist/page/ with esbuild), only when
// their inputs changed since the last successful build, so `npm start`, `npm test` and
// `npm run upstream` do not spend seconds rebuilding an unchanged tree.
// The inputs' fingerprint (every path, size and mtime) catches edits, added and deleted files,
// a checkout and a reinstall of node_modules. With --always (`npm run build`) it always compiles.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(ROOT, 'dist', '.inputs-fingerprint');
const DIRS = ['src', 'test', 'bench', 'page'];
const FILES = ['tsconfig.json', 'package.json', 'package-lock.json', 'node_modules/.package-lock.json'];

function fingerprint() {
  const hash = createHash('sha256');
  const add = (path) => {
    try {
      const stat = statSync(join(ROOT, path));
      if (stat.isFile()) hash.update(`${path}\t${stat.size}\t${stat.mtimeMs}\n`);
    } catch {
      hash.update(`${path}\tabsent\n`);
    }
  };
  FILES.forEach(add);
  for (const dir of DIRS) {
    let entries;
    try {
      entries = readdirSync(join(ROOT, dir), { recursive: true });
    } catch {
      continue;
    }
    for (const entry of entries.map(String).sort()) add(join(dir, entry));
  }
  return hash.digest('hex');
}

/**
 * The page's modules and the libraries they import (modern-tar, @balena/dockerignore with `path`
 * as path-browserify) as one script for browsers; tus-js-client stays its own file (ui/tus.min.js).
 */
async function bundlePage() {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['page/upload.js'],
    outfile: 'dist/page/upload.js',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // CompressionStream's oldest browsers.
    target: ['chrome103', 'firefox113', 'safari16.4'],
    alias: { path: 'path-browserify' },
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
}

const before = fingerprint();
let last = '';
try {
  last = readFileSync(STAMP, 'utf8');
} catch {
  // No build yet.
}
if (process.argv.includes('--always') || last !== before) {
  if (last !== before) process.stderr.write('build-if-changed: sources changed since the last build, compiling (tsc -p tsconfig.json)\n');
  // tsc emits even when it reports errors: until it succeeds, dist/ is not a build of anything.
  rmSync(STAMP, { force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  if (existsSync(join(ROOT, 'page', 'upload.js'))) await bundlePage();
  // The fingerprint from before tsc ran: a file saved during the build is compiled next time.
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, before);
}
