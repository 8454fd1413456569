// A plan as people and files see it: every text pattern-redacted, and the desired sandbox.json
// blueprints with sensitive env values replaced (src/compiler/redact.ts decides what is
// sensitive). A redacted plan still applies exactly: its manifests keep the digests, and apply
// takes the real bytes from a fresh compile or the blueprint store only when they match them.
import { sha256 } from '../compiler/canonical.js';
import type { ManifestArtifact } from '../compiler/artifacts.js';
import { redactDeep, redactSandboxJson } from '../compiler/redact.js';
import { UserError } from '../util/errors.js';
import type { Plan } from './types.js';
import type { BlueprintFile } from '../state/types.js';

export function redactPlan(p: Plan): Plan {
  const { blueprints, ...rest } = p;
  const shown = redactDeep(rest);
  const bps: Plan['blueprints'] = {};
  for (const [name, files] of Object.entries(blueprints))
    bps[name] = { ...files, 'sandbox.json': redactSandboxJson(files['sandbox.json']) };
  return { ...shown, blueprints: bps };
}

/** Where the exact bytes of a redacted sandbox.json may be found, by name. */
export type BlueprintSource = (name: string, digest: string) => Record<BlueprintFile, string> | undefined;

/**
 * The plan's blueprints with every redacted sandbox.json replaced by the real bytes from SOURCES
 * (first match wins). Only bytes whose sha256 is the one the plan's manifest recorded are taken,
 * so what is applied is exactly what was planned.
 */
export function restoreBlueprints(p: Plan, sources: BlueprintSource[]): Plan['blueprints'] {
  const out: Plan['blueprints'] = {};
  for (const [name, files] of Object.entries(p.blueprints)) {
    let manifest: ManifestArtifact;
    try {
      manifest = JSON.parse(files['manifest.json']) as ManifestArtifact;
    } catch {
      throw new UserError(`manifest.json of ${name} in the plan is not JSON`, [], 1);
    }
    const want = manifest.artifacts?.['sandbox.json'];
    if (typeof files['sandbox.json'] === 'string' && sha256(files['sandbox.json']) === want) {
      out[name] = files;
      continue;
    }
    const real = sources.map((s) => s(name, manifest.digest)?.['sandbox.json']).find((b) => b !== undefined && sha256(b) === want);
    if (real === undefined)
      throw new UserError(
        `the plan shows ${name}'s sandbox.json redacted, and neither the config nor the state directory has its exact bytes; run plan again`,
        [],
        1,
      );
    out[name] = { ...files, 'sandbox.json': real };
  }
  return out;
}
