// Semantic lint of nemoclaw.yaml, run after the JSON Schema passed. It lints the user's file as
// written: blueprint fields are not merged in, so rules that depend on them hold back when a
// sandbox names a blueprint (the compiler checks the merged result).
import { compareDiagnostics, type Diagnostic } from '../config/diagnostics.js';
import type { LoadedDocument } from '../config/load.js';
import type { NemoclawConfig } from '../generated/config.js';
import { objectEntries, isObject, Reporter, type LintContext } from './report.js';
import { redactSecrets } from '../compiler/redact.js';
import { lintEnv } from './rules/env.js';
import { lintFilesystem } from './rules/filesystem.js';
import { lintProviders, lintSandboxInference } from './rules/inference.js';
import { lintNetwork } from './rules/network.js';
import { lintProcess } from './rules/process.js';
import { lintRuntime } from './rules/runtime.js';
import { lintSecretComments, lintSecrets } from './rules/secrets.js';
import { applySuppressions, lintSuppress } from './rules/suppress.js';

export { RULES, isRuleId, type RuleId, type RuleMeta } from './catalog.js';
export type { LintContext } from './report.js';

export function lintConfig(doc: LoadedDocument, config: NemoclawConfig, ctx: LintContext): Diagnostic[] {
  const r = new Reporter(doc);
  for (const [name, sb] of objectEntries(config.sandboxes)) {
    if (!isObject(sb)) continue;
    const base = ['sandboxes', name];
    lintFilesystem(r, base, sb);
    lintNetwork(r, base, sb);
    lintEnv(r, base, sb);
    lintProcess(r, base, sb, ctx);
    lintRuntime(r, base, sb, ctx);
    lintSandboxInference(r, base, sb, config);
  }
  lintProviders(r, config);
  lintSecrets(r, config);
  lintSecretComments(r, doc.source);
  const suppressed = lintSuppress(r, config);
  return applySuppressions(r.diagnostics, suppressed).map(redactDiagnostic).sort(compareDiagnostics);
}

/**
 * Only the credential scan, on any parsed document (even one that failed the schema, when
 * lintConfig does not run): a pasted key should be reported whatever else is wrong with the file.
 * Do not combine with lintConfig's result, which already includes these findings.
 */
export function secretDiagnostics(doc: LoadedDocument): Diagnostic[] {
  const r = new Reporter(doc);
  lintSecrets(r, doc.value);
  lintSecretComments(r, doc.source);
  return r.diagnostics.map(redactDiagnostic).sort(compareDiagnostics);
}

/**
 * Replaces credential-looking text in what a diagnostic shows (message, hint, pointer), so no
 * output format can leak a secret that some rule quoted. Safe to apply to any diagnostic.
 */
export function redactDiagnostic(d: Diagnostic): Diagnostic {
  const out: Diagnostic = { ...d, message: redactSecrets(d.message), pointer: redactSecrets(d.pointer) };
  if (d.hint !== undefined) out.hint = redactSecrets(d.hint);
  return out;
}
