import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadDocument } from '../../src/config/load.js';
import { examplesDir } from '../../src/util/package-paths.js';

const SCALARS = [
  '0b1',
  '0o17',
  '0x1F',
  '1_000',
  '+1',
  '-1',
  '.inf',
  '-.Inf',
  '.NaN',
  '~',
  'Null',
  'TRUE',
  'True',
  'yes',
  'on',
  '1e3',
  '1.0',
  '012',
  '+.5',
  '.5',
  '5.',
  '2001-12-14',
  '-0',
  '1:20',
  '!!str 1',
  '"\\u00e9"',
  "'it''s'",
  '[1, 2]',
  '{a: 1}',
];

test('the fast reader and the positional reader agree on every value', () => {
  for (const c of SCALARS) {
    const text = `k: ${c}\nlist: [${c}]\n`;
    // -0 and 0 are the same number in canonical JSON; js-yaml reads `-0` as 0.
    assert.deepEqual(JSON.parse(JSON.stringify(loadDocument('t.yaml', text).value)), JSON.parse(JSON.stringify(parse(text))), c);
  }
  for (const ex of readdirSync(examplesDir)) {
    const text = readFileSync(join(examplesDir, ex, 'nemoclaw.yaml'), 'utf8');
    assert.deepEqual(loadDocument('t.yaml', text).value, parse(text), ex);
  }
});

test('positions are found for values and keys, also on the fast path', () => {
  const doc = loadDocument('t.yaml', 'version: 1\nsandboxes:\n  a:\n    command: [x, y]\n    env: { K: v }\n');
  assert.deepEqual(doc.positionOf('/sandboxes/a/command/1'), { line: 4, column: 18 });
  assert.deepEqual(doc.positionOf('/sandboxes/a/env/K', true), { line: 5, column: 12 });
  assert.deepEqual(doc.positionOf('/sandboxes/a/missing'), { line: 4, column: 5 }, 'falls back to the nearest existing node');
});

test('anchors take the bounded path: a few aliases are fine, a bomb is refused', () => {
  const ok = loadDocument('t.yaml', 'a: &x [1, 2]\nb: *x\n');
  assert.deepEqual(ok.diagnostics, []);
  assert.deepEqual(ok.value, { a: [1, 2], b: [1, 2] });
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++)
    lines.push(
      `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10)
        .fill('*' + 'abcdefgh'[i])
        .join(', ')}]`,
    );
  const bomb = loadDocument('t.yaml', lines.join('\n') + '\n');
  assert.equal(bomb.value, undefined);
  assert.equal(bomb.diagnostics[0]?.rule, 'yaml-alias-limit');
});

test('errors are located: syntax, duplicate keys, several documents', () => {
  assert.equal(loadDocument('t.yaml', 'a: 1\na: 2\n').diagnostics[0]?.rule, 'yaml-duplicate-key');
  assert.equal(loadDocument('t.yaml', 'a: 1\na: 2\n').diagnostics[0]?.line, 2);
  const syntax = loadDocument('t.yaml', 'a: [1, 2\nb: 3\n').diagnostics[0];
  assert.equal(syntax?.rule, 'yaml-syntax');
  assert.ok(syntax!.line >= 1);
  assert.ok(loadDocument('t.yaml', 'a: 1\n---\nb: 2\n').diagnostics.length > 0, 'two documents are refused');
});
