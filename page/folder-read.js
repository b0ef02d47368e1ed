// What the browser gives for a folder, as one list: { path, file } for every file (path relative to
// the folder, '/'-separated) and { path, directory: true } for every directory a drop shows.

/** A folder chosen with <input webkitdirectory>: every File carries "folder/sub/name" as webkitRelativePath. */
export function readChosenFolder(fileList) {
  const files = Array.from(fileList);
  if (files.length === 0) return undefined;
  const root = files[0].webkitRelativePath.split('/')[0];
  const entries = files.map((file) => ({ path: file.webkitRelativePath.slice(root.length + 1), file }));
  return { name: root, entries };
}

/** The one directory in a drop, or undefined when the drop holds files (an archive). */
export function droppedDirectory(dataTransfer) {
  // webkitGetAsEntry() works only during the drop event itself: callers ask at once.
  const items = Array.from(dataTransfer.items || []).filter((item) => item.kind === 'file');
  if (items.length !== 1) return undefined;
  const entry = items[0].webkitGetAsEntry && items[0].webkitGetAsEntry();
  return entry && entry.isDirectory ? entry : undefined;
}

/** Walks a dropped directory; readEntries() answers at most 100 entries a call, so each is read until empty. */
export async function readDroppedFolder(directory) {
  const entries = [];
  const walk = async (dir, prefix) => {
    const reader = dir.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const entry of batch) {
        const path = prefix + entry.name;
        if (entry.isDirectory) {
          entries.push({ path, directory: true });
          await walk(entry, `${path}/`);
        } else if (entry.isFile) {
          entries.push({ path, file: await new Promise((resolve, reject) => entry.file(resolve, reject)) });
        }
      }
    }
  };
  await walk(directory, '');
  return { name: directory.name, entries };
}
