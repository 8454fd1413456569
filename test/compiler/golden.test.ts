// Golden files: each example's compiled artifacts are committed under test/golden/<example>/ so a
// change in compiler output shows up as a reviewable diff. Refresh with UPDATE_GOLDEN=1 npm test.
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
    for (const s of c.output.sandboxes) {
      for (const [file, body] of Object.entries(s.files)) {
        const path = join(goldenDir, example, s.name, file);
        const actual = stable(file, body);
        if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
          if (process.env.CI === 'true' && !existsSync(path)) assert.fail(`missing golden file ${path}`);
          mkdirSync(join(goldenDir, example, s.name), { recursive: true });
          writeFileSync(path, actual);
        }
        assert.equal(actual, readFileSync(path, 'utf8'), `${example}/${s.name}/${file} differs from its golden copy`);
      }
    }
  });
}
