// A bad image.yaml is refused before anything is fetched, with the file, line and field.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { imageCli } from './helpers.js';

function definition(t: import('node:test').TestContext, yaml: string): string {
  const dir = join(tempDir(t), 'img');
  mkdirSync(dir);
  writeFileSync(join(dir, 'image.yaml'), yaml);
  return dir;
}

test('a wrong field is reported with its file, line and field, without a stack trace', (t) => {
  const dir = definition(t, 'name: x\ntag: "1"\nuser:\n  name: sandbox\n  uid: root\n  home: /sandbox\n');
  const r = imageCli(['build', dir], join(dir, 'state'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /image\.yaml:5:\d+: error image: must be integer/);
  assert.match(r.stderr, /field: user\.uid/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('an unknown field, a missing file and npm without node are each located', (t) => {
  const dir = definition(
    t,
    [
      'name: x',
      'tag: "1"',
      'files:',
      '  - { source: nothere.txt, path: /etc/x }',
      'npm:',
      '  project: app',
      '  prefix: /opt/app',
      'colour: blue',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'app'));
  let r = imageCli(['build', dir], join(dir, 'state'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /image\.yaml:8:1: error image: unknown field "colour"/);
  writeFileSync(
    join(dir, 'image.yaml'),
    [
      'name: x',
      'tag: "1"',
      'files:',
      '  - { source: ../escape.txt, path: /etc/x }',
      'npm:',
      '  project: app',
      '  prefix: /opt/app',
      '',
    ].join('\n'),
  );
  r = imageCli(['build', dir], join(dir, 'state'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /image\.yaml:4:\d+: .*"\.\.\/escape\.txt" is outside the image directory/);
  assert.match(r.stderr, /app\/package\.json is missing/);
  assert.match(r.stderr, /image\.yaml:[56]:\d+: .*`npm` needs a `node` runtime/);
});

test('a directory without image.yaml is a clear error', (t) => {
  const dir = tempDir(t);
  const r = imageCli(['build', dir], join(dir, 'state'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no image definition \(expected image\.yaml/);
});
