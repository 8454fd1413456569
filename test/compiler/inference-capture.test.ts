// inference.capture compiles into egress.json only when on (so other routes keep their digests),
// and explain/plan say so.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inferenceText } from '../../src/compiler/explain.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { tempDir } from '../helpers/tmp.js';

test('inference.capture: full is compiled and announced; off leaves the artifact as before', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(
    file,
    'version: 1\nsandboxes:\n' +
      '  on:\n    command: [/bin/true]\n    inference: { provider: p, capture: full }\n' +
      '  off:\n    command: [/bin/true]\n    inference: { provider: p, capture: off }\n' +
      '  unset:\n    command: [/bin/true]\n    inference: { provider: p }\n' +
      'inference:\n  providers:\n    p: { api: openai, endpoint: "https://api.example.com/v1", model: m, credential: "env:K" }\n',
  );
  const compiled = await loadCompile(file, 'update');
  const egress = (n: string) => {
    const s = compiled.output.sandboxes.find((x) => x.name === n)!;
    return JSON.parse(Buffer.from(s.files['egress.json']).toString()) as { inference: Parameters<typeof inferenceText>[0] };
  };
  assert.equal(egress('on').inference.capture, 'full');
  assert.match(inferenceText(egress('on').inference), /CAPTURE ON/);
  assert.ok(!('capture' in egress('off').inference));
  assert.doesNotMatch(inferenceText(egress('off').inference), /CAPTURE/);
  assert.deepEqual(egress('off').inference, egress('unset').inference);
});
