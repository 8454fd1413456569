// Renders docs/lint-rules.md from the rule catalogue. test/lint/doc.test.ts fails when the
// committed file differs; `node scripts/gen-lint-doc.mjs` (after a build) rewrites it.
import { RULES } from './catalog.js';

const STAGE: Record<string, string> = { load: 'YAML loading', schema: 'JSON Schema', lint: 'semantic lint' };

const cell = (s: string): string => s.replace(/\|/g, '\\|');

export function renderLintRulesMarkdown(): string {
  const ids = Object.keys(RULES).sort() as (keyof typeof RULES)[];
  const rows = ids.map((id) => {
    const m = RULES[id];
    return `| \`${id}\` | ${m.severity} | ${STAGE[m.stage]} | ${cell(m.summary)} |`;
  });
  return [
    '# Lint rules',
    '',
    '<!-- Generated from src/lint/catalog.ts by scripts/gen-lint-doc.mjs. Do not edit by hand. -->',
    '',
    '`nemoclaw lint` reports these ids (also in `--format json`, `sarif` and `github` output).',
    'Warnings can be silenced for one file with a top-level `lint: { suppress: [rule-id, ...] }`.',
    'Errors cannot be suppressed: listing one is itself the error `lint-suppress-error`.',
    '',
    '| Rule | Severity | Reported by | What it means |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
