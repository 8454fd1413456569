// What changed between two versions of a sandbox's blueprint: per artifact, the config fields
// a reviewer recognises (filesystem.read_write, network.egress, ...) and a unified diff of the
// pretty-printed JSON, with sensitive env values and credential-looking text redacted. Pure.
import { createTwoFilesPatch } from 'diff';
import type { EgressArtifact, LandlockArtifact, SandboxArtifact } from '../compiler/artifacts.js';
import { redactSandboxJson, redactSecrets } from '../compiler/redact.js';
import type { FileChange } from './types.js';
import type { BlueprintFile } from '../state/types.js';

/** Canonical JSON is one line; reviewers need one value per line for a readable diff. */
export function pretty(bytes: string): string {
  try {
    return JSON.stringify(JSON.parse(bytes), null, 2) + '\n';
  } catch {
    return bytes; // a hand-edited, unparseable file: diff it as it is
  }
}

/** A diff for people: what it shows goes to CI logs and pull-request comments, so it is redacted first. */
export function unifiedDiff(file: string, before: string, after: string): string {
  const shown = (x: string, previous?: string) => (file === 'sandbox.json' ? redactSandboxJson(x, previous) : redactSecrets(x));
  return createTwoFilesPatch(`a/${file}`, `b/${file}`, pretty(shown(before)), pretty(shown(after, before)), '', '', { context: 3 })
    .split('\n')
    .slice(1)
    .join('\n'); // drop the "====" banner line
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function setDiff<T>(a: T[], b: T[], key: (x: T) => string): { added: T[]; removed: T[] } {
  const ka = new Set(a.map(key));
  const kb = new Set(b.map(key));
  return { added: b.filter((x) => !ka.has(key(x))), removed: a.filter((x) => !kb.has(key(x))) };
}

function sandboxFields(a: SandboxArtifact, b: SandboxArtifact): string[] {
  const out: string[] = [];
  const { added, removed } = setDiff(a.mounts, b.mounts, (m) => `${m.target}:${m.mode}`);
  for (const m of [...added, ...removed]) out.push(m.mode === 'rw' ? 'filesystem.read_write' : 'filesystem.read_only');
  const map: [keyof SandboxArtifact, string][] = [
    ['runtime', 'runtime'],
    ['image', 'image'],
    ['command', 'command'],
    ['workdir', 'workdir'],
    ['user', 'process.user'],
    ['env', 'env'],
    ['secrets', 'secrets'],
    ['limits', 'process.limits'],
    ['network', 'network'],
    ['inference', 'inference'],
    ['protect', 'protect'],
  ];
  for (const [k, name] of map) if (!same(a[k], b[k])) out.push(name);
  return out;
}

function landlockFields(a: LandlockArtifact, b: LandlockArtifact): string[] {
  const out: string[] = [];
  const { added, removed } = setDiff(a.path_rules, b.path_rules, (r) => `${r.path}:${[...r.access].sort().join(',')}`);
  const byPath = (rs: LandlockArtifact['path_rules'], p: string) => rs.find((r) => r.path === p);
  for (const r of [...added, ...removed]) {
    const before = byPath(a.path_rules, r.path)?.access ?? [];
    const after = byPath(b.path_rules, r.path)?.access ?? [];
    const writes = before.includes('write_file') || after.includes('write_file');
    const execChanged = before.includes('execute') !== after.includes('execute');
    if (writes && execChanged && before.includes('write_file') === after.includes('write_file')) out.push('filesystem.executable');
    else out.push(writes ? 'filesystem.read_write' : 'filesystem.read_only');
  }
  if (a.compatibility !== b.compatibility) out.push('filesystem.landlock');
  if (a.abi_floor !== b.abi_floor) out.push('filesystem.landlock_min_abi');
  if (!same(a.net_rules, b.net_rules)) out.push('network');
  if (!same(a.handled_access_fs, b.handled_access_fs) || !same(a.handled_access_net, b.handled_access_net) || !same(a.scoped, b.scoped))
    out.push('landlock rights handled');
  return out;
}

function egressFields(a: EgressArtifact, b: EgressArtifact): string[] {
  const out: string[] = [];
  const { added, removed } = setDiff(a.rules, b.rules, (r) => JSON.stringify(r));
  for (const r of [...added, ...removed])
    out.push(r.source === 'config' ? `network.egress[${r.name}]` : `network.presets[${r.name.replace(/^preset:/, '')}]`);
  if (!same(a.allowed_ips, b.allowed_ips)) out.push('network.allowed_ips');
  if (a.on_deny !== b.on_deny) out.push('network.on_deny');
  if (!same(a.inference, b.inference)) out.push('inference');
  return out;
}

function fieldsOf(file: BlueprintFile, before: string, after: string): string[] {
  let a: unknown;
  let b: unknown;
  try {
    a = JSON.parse(before);
    b = JSON.parse(after);
  } catch {
    return ['(unparseable)'];
  }
  switch (file) {
    case 'sandbox.json':
      return sandboxFields(a as SandboxArtifact, b as SandboxArtifact);
    case 'landlock.json':
      return landlockFields(a as LandlockArtifact, b as LandlockArtifact);
    case 'egress.json':
      return egressFields(a as EgressArtifact, b as EgressArtifact);
    case 'seccomp.json':
      return ['process.seccomp'];
    case 'manifest.json':
      return ['blueprint/preset versions'];
  }
}

/** Per artifact file whose bytes differ: config fields and a unified diff. */
export function fileChanges(
  before: Partial<Record<BlueprintFile, string>>,
  after: Record<BlueprintFile, string>,
  files: readonly BlueprintFile[],
): FileChange[] {
  const out: FileChange[] = [];
  for (const file of files) {
    const a = before[file];
    const b = after[file];
    if (a === b) continue;
    if (a === undefined) {
      out.push({ file, fields: ['(previous version unavailable)'], diff: '' });
      continue;
    }
    const fields = [...new Set(fieldsOf(file, a, b))];
    out.push({ file, fields: fields.length ? fields : ['(formatting)'], diff: unifiedDiff(file, a, b) });
  }
  return out;
}
