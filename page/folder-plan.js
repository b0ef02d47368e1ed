// Decides what a folder's archive holds, before a byte is packed: Docker's .dockerignore rules, the
// files Docker always sends, sorted paths, modes and mtimes, and the counts the page shows.
import dockerignore from '@balena/dockerignore';

/** Docker sends these even when .dockerignore lists them: the builder needs them. */
const ALWAYS_SENT = new Set(['Dockerfile', '.dockerignore']);
const FILE_MODE = 0o644;
const SCRIPT_MODE = 0o755;
const DIRECTORY_MODE = 0o755;
const SNIFF_CONCURRENCY = 16;

/** Browsers expose no file modes: a file that starts with "#!" is taken for a script. */
async function startsWithShebang(file) {
  if (file.size < 2) return false;
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  return head[0] === 0x23 && head[1] === 0x21;
}

async function forEachLimited(items, limit, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The rule that decides whether a path (relative, '/'-separated) is left out. */
async function ignoreRule(entries) {
  const rules = entries.find((e) => e.path === '.dockerignore' && e.file);
  // Without a .dockerignore, the repository's history stays home.
  if (!rules) return { usesDockerignore: false, ignored: (path) => path === '.git' || path.startsWith('.git/') };
  // Docker matches case-sensitively (the library's default is not to).
  const matcher = dockerignore({ ignorecase: false }).add(await rules.file.text());
  return { usesDockerignore: true, ignored: (path) => !ALWAYS_SENT.has(path) && matcher.ignores(path) };
}

const compare = (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * { name, entries: [{ path, file | directory }] } → what to pack: entries in path order with
 * tar headers' facts, and the counts (files, bytes, skipped, scripts).
 */
export async function planFolder({ name, entries }) {
  const { usesDockerignore, ignored } = await ignoreRule(entries);
  const files = [];
  const directories = new Map();
  let skippedFiles = 0;
  let skippedBytes = 0;
  for (const entry of entries) {
    if (ignored(entry.path)) {
      if (entry.file) {
        skippedFiles += 1;
        skippedBytes += entry.file.size;
      }
    } else if (entry.file) {
      files.push({ path: entry.path, file: entry.file, size: entry.file.size, mtime: new Date(entry.file.lastModified), mode: FILE_MODE });
    } else {
      directories.set(entry.path, { path: entry.path, directory: true, mtime: undefined, mode: DIRECTORY_MODE });
    }
  }
  // Every kept file's parents are in the archive, even where the rules left the directory out.
  for (const file of files) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      const directory = directories.get(path) ?? { path, directory: true, mtime: undefined, mode: DIRECTORY_MODE };
      if (!directory.mtime || file.mtime > directory.mtime) directory.mtime = file.mtime;
      directories.set(path, directory);
    }
  }
  let scripts = 0;
  await forEachLimited(files, SNIFF_CONCURRENCY, async (file) => {
    if (await startsWithShebang(file.file)) {
      file.mode = SCRIPT_MODE;
      scripts += 1;
    }
  });
  // A directory's time is its newest file's; an empty one (from a drop) gets the time of packing.
  const now = new Date();
  for (const directory of directories.values()) directory.mtime ??= now;
  const ordered = [...directories.values(), ...files].sort(compare);
  return {
    name,
    entries: ordered,
    files: files.length,
    bytes: files.reduce((sum, f) => sum + f.size, 0),
    skippedFiles,
    skippedBytes,
    scripts,
    usesDockerignore,
  };
}
