// Runtime, image pinning and references to blueprints and presets.
import type { SandboxSpec } from '../../generated/config.js';
import { isObject, quote, str, stringItems, type LintContext, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

const DIGEST = /@sha256:[0-9a-f]{64}$/;

function known(list: readonly string[], what: string): string {
  return list.length === 0 ? `no ${what} are available` : `known ${what}: ${[...list].sort().join(', ')}`;
}

export function lintRuntime(r: Reporter, base: Path, sb: SandboxSpec, ctx: LintContext): void {
  const blueprint = str(sb.blueprint);
  if (blueprint !== undefined) {
    const name = blueprint.split('@')[0]!;
    if (!ctx.knownBlueprints.includes(blueprint) && !ctx.knownBlueprints.includes(name)) {
      r.report(
        'blueprint-unknown',
        [...base, 'blueprint'],
        `blueprint ${quote(blueprint)} does not exist (${known(ctx.knownBlueprints, 'blueprints')})`,
        'use one of the known blueprints, or add it under blueprints/',
      );
    }
  }

  // A blueprint may set runtime and image itself (merged by the compiler, which checks the
  // result); as written, a field the user left out is unknown rather than defaulted.
  const runtime = sb.runtime ?? (blueprint === undefined ? 'process' : undefined);
  const image = str(sb.image);
  if (runtime === 'docker' && image === undefined && blueprint === undefined) {
    r.report(
      'docker-image-missing',
      [...base, 'runtime'],
      'runtime is docker but no image is set',
      'set image: name@sha256:<digest>, or use runtime: process',
    );
  }
  // Both runtimes run an image (the process runtime uses it as the sandbox's root), so both pin it.
  if (image !== undefined) {
    if (/@sha256:/.test(image) && !DIGEST.test(image)) {
      r.report(
        'image-not-pinned',
        [...base, 'image'],
        `image ${quote(image)} has a malformed digest`,
        'a digest is @sha256: followed by 64 lower-case hex digits',
      );
    } else if (!DIGEST.test(image) && !Object.prototype.hasOwnProperty.call(ctx.lockedImages, image)) {
      r.report(
        'image-not-pinned',
        [...base, 'image'],
        `image ${quote(image)} has no digest and is not pinned by nemoclaw.lock, so what runs could change without a commit`,
        'write it as name@sha256:<digest>, or pin it in nemoclaw.lock',
      );
    }
  }

  const net = isObject(sb.network) ? sb.network : undefined;
  for (const [i, preset] of stringItems(net?.presets)) {
    if (!ctx.knownPresets.includes(preset)) {
      r.report(
        'preset-unknown',
        [...base, 'network', 'presets', i],
        `preset ${quote(preset)} does not exist (${known(ctx.knownPresets, 'presets')})`,
        'use one of the known presets, or write the endpoints as an egress rule',
      );
    }
  }
}
