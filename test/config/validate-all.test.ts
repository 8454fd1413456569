// Validation reports everything at once: the semantic checks run on every part of the file that
// passed the schema, beside the schema errors, and skip only the parts the schema refused.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAndCheck } from '../../src/pipeline/pipeline.js';
import { runCli } from '../helpers/cli.js';
import { tempFiles } from '../helpers/tmp.js';

const findings = (file: string) => loadAndCheck(file).diagnostics.map((d) => [d.rule, d.pointer, d.line]);

const PROVIDER = `version: 1
inference:
  providers:
    nim:
      api: openai
      endpoint: https://integrate.api.nvidia.example/v1
      credential: nvidia-key
sandboxes:
  agent:
    command: [/bin/true]
    inference: { provider: nim }
`;

test('a provider missing `model` still has its credential checked: both errors in one run', (t) => {
  const dir = tempFiles(t, { 'nemoclaw.yaml': PROVIDER });
  assert.deepEqual(findings(join(dir, 'nemoclaw.yaml')), [
    ['schema', '/inference/providers/nim', 5],
    ['credential-format', '/inference/providers/nim/credential', 7],
  ]);
  const r = runCli(['validate', '-f', join(dir, 'nemoclaw.yaml')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /nemoclaw\.yaml:5:\d+: error schema: missing required field "model"/);
  assert.match(r.stderr, /nemoclaw\.yaml:7:\d+: error credential-format: the credential of provider "nim" is not a reference/);
  assert.match(r.stderr, /^2 errors, 0 warnings$/m);
});

test('a sandbox that fails the schema is skipped; the other sandboxes and providers are linted', (t) => {
  const src = `version: 1
colour: blue
inference:
  providers:
    broken: { api: openai, endpoint: 42, model: m, credential: "env:KEY" }
sandboxes:
  bad:
    command: [/bin/true]
    runtime: podman
    process: { user: root }
  good:
    command: [/bin/true]
    process: { user: root }
    inference: { provider: broken }
`;
  const dir = tempFiles(t, { 'nemoclaw.yaml': src });
  assert.deepEqual(findings(join(dir, 'nemoclaw.yaml')), [
    ['schema', '/colour', 2],
    ['schema', '/inference/providers/broken/endpoint', 5],
    ['schema', '/sandboxes/bad/runtime', 9],
    // `bad` is malformed: its user is not linted. `good` is, and the malformed provider it
    // selects still counts as defined (no inference-provider-unknown).
    ['user-root', '/sandboxes/good/process/user', 13],
  ]);
});

test('an unknown field alone does not hide the semantic findings of its sandbox', (t) => {
  const src = `version: 1
sandboxes:
  agent:
    command: [/bin/true]
    colour: blue
    filesystem: { read_write: [relative/path] }
`;
  const dir = tempFiles(t, { 'nemoclaw.yaml': src });
  const got = findings(join(dir, 'nemoclaw.yaml'));
  assert.deepEqual(got[0], ['schema', '/sandboxes/agent/colour', 5]);
  assert.ok(
    got.some(([rule, pointer]) => rule !== 'schema' && String(pointer).startsWith('/sandboxes/agent/filesystem/read_write')),
    JSON.stringify(got),
  );
});
