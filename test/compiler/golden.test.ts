// Golden files: each example's compiled artifacts are committed under test/golden/<example>/ so a
// change in compiler output shows up as a reviewable diff. A missing, stale or extra golden file
// fails the test; only UPDATE_GOLDEN=1 (a deliberate act, reviewed in the diff) rewrites them.
// The manifest's provenance (source file, git commit) varies by checkout and is left out.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { examplesDir } from '../../src/util/package-paths.js';
import { repoRoot } from '../helpers/cli.js';

const goldenDir = join(repoRoot, 'test', 'golden');

/** Pretty-printed (so a golden diff reads well), manifest without provenance. */
function stable(file: string, body: string): string {
  const value = JSON.parse(body) as Record<string, unknown>;
  if (file === 'manifest.json') delete value.source;
  return JSON.stringify(value, null, 2) + '\n';
}

for (const example of readdirSync(examplesDir).sort()) {
  test(`golden: examples/${example}`, async () => {
    const c = await loadCompile(join(examplesDir, example, 'nemoclaw.yaml'), 'check');
    const update = process.env.UPDATE_GOLDEN === '1';
    const expected = new Set<string>();
    for (const s of c.output.sandboxes) {
      for (const [file, body] of Object.entries(s.files)) {
        const path = join(goldenDir, example, s.name, file);
        expected.add(`${s.name}/${file}`);
        const actual = stable(file, body);
        if (update) {
          mkdirSync(join(goldenDir, example, s.name), { recursive: true });
          writeFileSync(path, actual);
        }
        assert.ok(existsSync(path), `missing golden file ${path} (run UPDATE_GOLDEN=1 npm test and review the diff)`);
        assert.equal(actual, readFileSync(path, 'utf8'), `${example}/${s.name}/${file} differs from its golden copy`);
      }
    }
    const dir = join(goldenDir, example);
    const present = existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];
    const extra = present.map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1)).filter((p) => !expected.has(p));
    assert.deepEqual(extra, [], `golden files for artifacts the compiler no longer produces: ${extra.join(', ')}`);
  });
}
