import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describePlatformFacts, describeSettings } from '../src/config.js';
import { helpText } from '../src/help.js';
import { readDoc } from './docs.js';
import { catalogueCodes, documentedReasons } from './error-catalogue.js';

/** The first cell of every table row, with the `backticked` names in it. */
function firstCells(markdown: string): string[][] {
  return markdown.split('\n').filter((line) => line.startsWith('| `'))
    .map((line) => [...line.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
}

describe('the documented tables match their one source', () => {
  test('docs/configuration.md lists every setting and platform fact of src/config.ts, with its default, and nothing else', async () => {
    const doc = await readDoc('docs/configuration.md');
    const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
    const documented = firstCells(doc).flat();
    const settings = describeSettings();
    const known = [...settings.map((s) => s.env), ...describePlatformFacts().map((f) => f.env)];
    assert.deepEqual(known.filter((env) => !documented.includes(env)), [], 'settings missing from docs/configuration.md');
    assert.deepEqual(documented.filter((env) => !known.includes(env)), [], 'documented variables that src/config.ts does not read');
    for (const { env, default: value } of settings) {
      if (value === '') continue;
      const row = rows.find((r) => r.split('|')[1]!.includes(`\`${env}\``))!;
      assert.ok(row.split('|')[2]!.includes(`\`${value}\``), `${env}: the default \`${value}\` is not in its row: ${row}`);
    }
  });

  test('--help lists the same settings, with the same defaults', () => {
    const help = helpText();
    for (const { env, default: value } of describeSettings()) {
      assert.match(help, new RegExp(`^ {2}${env} .*\\(default: ${(value === '' ? 'unset' : value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`, 'm'), env);
    }
    for (const { env } of describePlatformFacts()) assert.match(help, new RegExp(`^ {2}${env} `, 'm'), env);
  });

  test('docs/errors.md has a row for every reason of the catalogue and openapi.yaml, and none other', async () => {
    const doc = await readDoc('docs/errors.md');
    const table = doc.slice(doc.indexOf('## Every reason'));
    const documented = firstCells(table).map((cells) => cells[0]!);
    const reasons = [...new Set([...await catalogueCodes(), ...await documentedReasons()])];
    assert.deepEqual(reasons.filter((r) => !documented.includes(r)), [], 'reasons missing from docs/errors.md');
    assert.deepEqual(documented.filter((r) => !reasons.includes(r)), [], 'docs/errors.md rows that are no reason');
    for (const row of table.split('\n').filter((line) => line.startsWith('| `'))) {
      assert.match(row.split('|')[2]!, /^ (\d{3}|mapped) $/, `a status for ${row.slice(0, 60)}`);
    }
  });
});
