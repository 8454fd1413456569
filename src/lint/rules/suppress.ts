// `lint.suppress`: warnings the file owner has reviewed. Errors are never suppressible, and
// trying to is itself an error, so a suppression can't quietly hide a fail-closed check.
import type { Diagnostic } from '../../config/diagnostics.js';
import type { NemoclawConfig } from '../../generated/config.js';
import { isRuleId, RULES } from '../catalog.js';
import { isObject, quote, stringItems, type Reporter } from '../report.js';

/** Reports bad entries and returns the ids that may be suppressed. */
export function lintSuppress(r: Reporter, config: NemoclawConfig): Set<string> {
  const ok = new Set<string>();
  const list = isObject(config.lint) ? config.lint.suppress : undefined;
  for (const [i, id] of stringItems(list)) {
    const at = ['lint', 'suppress', i];
    if (!isRuleId(id)) {
      const warnings = Object.entries(RULES)
        .filter(([, m]) => m.severity === 'warning')
        .map(([k]) => k)
        .sort();
      r.report('lint-suppress-unknown', at, `${quote(id)} is not a rule id`, `suppressible warnings: ${warnings.join(', ')}`);
    } else if (RULES[id].severity === 'error') {
      r.report(
        'lint-suppress-error',
        at,
        `${id} is an error and cannot be suppressed`,
        'fix what it reports instead, and remove it from lint.suppress',
      );
    } else {
      ok.add(id);
    }
  }
  return ok;
}

export function applySuppressions(diags: Diagnostic[], suppressed: ReadonlySet<string>): Diagnostic[] {
  return diags.filter((d) => d.severity === 'error' || !suppressed.has(d.rule));
}
