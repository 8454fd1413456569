// The shipped catalog: presets are listed from their files and read when first used; a preset
// whose name differs from its file, or that is malformed, is an error when it is used.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { blueprintsDir } from '../../src/util/package-paths.js';
import { tempDir } from '../helpers/tmp.js';

function catalogCopy(t: Parameters<typeof tempDir>[0]): string {
  const dir = join(tempDir(t, 'nemoclaw-catalog-'), 'blueprints');
  cpSync(blueprintsDir, dir, { recursive: true });
  return dir;
}

test('every shipped preset is listed, reads, and has a digest over its content', () => {
  const c = loadCatalog();
  assert.ok(Object.keys(c.presets).includes('pypi'));
  for (const [name, p] of Object.entries(c.presets)) {
    assert.equal(p.name, name);
    assert.match(p.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(p.endpoints.length > 0, name);
  }
});

test('a broken preset does not stop others from being used; using it names the file', (t) => {
  const dir = catalogCopy(t);
  mkdirSync(join(dir, 'presets'), { recursive: true });
  writeFileSync(join(dir, 'presets', 'broken.yaml'), 'name: broken\nversion: 1\nendpoints: [ { host: 7 } ]\n');
  writeFileSync(join(dir, 'presets', 'renamed.yaml'), 'name: other\nversion: 1\nendpoints: [ { host: example.com, port: 443 } ]\n');
  const c = loadCatalog(dir);
  assert.ok(c.presets.pypi!.endpoints.length > 0);
  assert.throws(() => c.presets.broken, /broken\.yaml: invalid endpoint/);
  assert.throws(() => c.presets.renamed, /renamed\.yaml: the preset's name must be renamed/);
});
