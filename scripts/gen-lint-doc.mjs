// Rewrites docs/lint-rules.md from the rule catalogue. Run after `npm run build`.
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderLintRulesMarkdown } = await import(join(root, 'dist/src/lint/doc.js'));
const out = join(root, 'docs/lint-rules.md');
writeFileSync(out + '.tmp', renderLintRulesMarkdown());
renameSync(out + '.tmp', out);
