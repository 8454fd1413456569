import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './helpers/cli.js';

test('docs/config-reference.md is generated from the schema and up to date', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/gen-config-doc.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
