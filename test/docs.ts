import { readdir, readFile } from 'node:fs/promises';

const ROOT = new URL('../../', import.meta.url);

/** README.md and every docs/*.md, by path relative to the repository. */
export async function docFiles(): Promise<string[]> {
  const pages = (await readdir(new URL('docs/', ROOT))).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...pages.map((f) => `docs/${f}`)];
}

export function readDoc(path: string): Promise<string> {
  return readFile(new URL(path, ROOT), 'utf8');
}

/** README.md and the docs pages as one text: for tests that run a snippet wherever it lives. */
export async function allDocs(): Promise<string> {
  return (await Promise.all((await docFiles()).map(readDoc))).join('\n');
}

export interface RunnableBlock {
  /** The 1-based line of the block's opening fence. */
  line: number;
  /** What follows `run:` in the marker (`error`, `webhook`), or '' for a plain `<!-- run -->`. */
  mode: string;
  script: string;
}

const MARKER = /^<!-- run(?::\s*([a-z-]+))?\s*-->$/;

/** Every fenced block preceded by a `<!-- run -->` line; a marker before anything but a `sh` fence throws. */
export function runnableBlocks(text: string): RunnableBlock[] {
  const lines = text.split('\n');
  const blocks: RunnableBlock[] = [];
  lines.forEach((line, i) => {
    const marker = MARKER.exec(line.trim());
    if (!marker) return;
    if (lines[i + 1] !== '```sh') throw new Error(`line ${i + 1}: a run marker must be followed directly by a \`\`\`sh fence`);
    const end = lines.indexOf('```', i + 2);
    if (end < 0) throw new Error(`line ${i + 2}: the sh fence is never closed`);
    blocks.push({ line: i + 2, mode: marker[1] ?? '', script: lines.slice(i + 2, end).join('\n') + '\n' });
  });
  return blocks;
}

/** Every fenced `sh` block, marked or not, with the line of its fence. */
export function shellBlocks(text: string): Array<{ line: number; script: string; marked: boolean }> {
  const lines = text.split('\n');
  const blocks: Array<{ line: number; script: string; marked: boolean }> = [];
  let fence: { at: number; lang: string } | undefined;
  lines.forEach((line, i) => {
    if (!line.startsWith('```')) return;
    if (!fence) {
      fence = { at: i, lang: line.slice(3).trim() };
      return;
    }
    if (fence.lang === 'sh') {
      blocks.push({ line: fence.at + 1, script: lines.slice(fence.at + 1, i).join('\n'), marked: MARKER.test((lines[fence.at - 1] ?? '').trim()) });
    }
    fence = undefined;
  });
  return blocks;
}

/**
 * Every JSON object or array a script printed, in order: curl prints answers back to back,
 * often without a newline between them. Text outside them (headers, progress) is skipped.
 */
export function printedJson(out: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  while (i < out.length) {
    const start = out.slice(i).search(/[{[]/);
    if (start < 0) break;
    const from = i + start;
    const to = matchingClose(out, from);
    if (to < 0) throw new Error(`unbalanced JSON from: ${out.slice(from, from + 80)}`);
    values.push(JSON.parse(out.slice(from, to + 1)));
    i = to + 1;
  }
  return values;
}

function matchingClose(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}
