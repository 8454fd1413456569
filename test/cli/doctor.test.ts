// nemoclaw doctor on this host: examples judged by what is really here, and its flags.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('doctor: the openclaw-assistant example runs only once its pinned image is built into the state directory', (t) => {
  const r = runCli(['doctor', '--json', '--state-dir', join(tempDir(t), 'state')]);
  const report = JSON.parse(r.stdout);
  const assistant = report.configs.find((c: { sandbox: string }) => c.sandbox === 'assistant');
  // A fresh state directory holds no image: refused, naming what to do.
  assert.equal(assistant.runtime, 'process');
  assert.equal(assistant.verdict, 'refused');
  assert.match(assistant.reasons.join('\n'), /image: nemoclaw\/openclaw pinned at sha256:.* is not built here: run `nemoclaw image build`/);
  // The quickstart's /bin/sh is found in its read-only binds: it runs (on a host that can enforce).
  const hello = report.configs.find((c: { sandbox: string }) => c.sandbox === 'hello');
  if (report.process_runtime_ready) assert.equal(hello.verdict, 'runs', hello.reasons.join('\n'));
});

test('doctor --state-dir is accepted and reported; a misspelt flag is refused as typed', (t) => {
  const dir = tempDir(t);
  const r = runCli(['doctor', '--state-dir', join(dir, 'state')]);
  assert.match(r.stdout, new RegExp(`state dir +${join(dir, 'state')}: absent`));
  const w = runCli(['doctor', '--state-dir', dir]);
  assert.match(w.stdout, new RegExp(`state dir +${dir}: writable`));
  const bad = runCli(['doctor', '--stat-dir', dir]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'nemoclaw: Unknown option `--stat-dir`\n');
});
