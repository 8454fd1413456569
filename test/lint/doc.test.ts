// docs/lint-rules.md is generated from the rule catalogue; this fails when they drift apart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { renderLintRulesMarkdown } from '../../src/lint/doc.js';
import { RULES } from '../../src/lint/rules.js';
import { repoRoot } from '../helpers/cli.js';

it('docs/lint-rules.md matches the rule catalogue (regenerate: npm run build && node scripts/gen-lint-doc.mjs)', () => {
  const committed = readFileSync(join(repoRoot, 'docs/lint-rules.md'), 'utf8');
  assert.equal(committed, renderLintRulesMarkdown());
  for (const [id, meta] of Object.entries(RULES)) {
    assert.ok(committed.includes(`| \`${id}\` | ${meta.severity} |`), id);
  }
});

it('rule ids are kebab-case and every summary is one sentence', () => {
  for (const [id, meta] of Object.entries(RULES)) {
    assert.match(id, /^[a-z0-9]+(-[a-z0-9]+)*$/, id);
    assert.match(meta.summary, /^[A-Z`/].*\.$/, id);
    assert.ok(!meta.summary.includes('\n'), id);
  }
});
