// Shared fixtures for the reconciler tests: compiled sandboxes from YAML, inventories and
// observations that match them, so each test changes exactly one thing.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { policyVersion, sha256 } from '../../src/compiler/canonical.js';
import type { CompiledSandbox } from '../../src/compiler/artifacts.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { type Desired, type Observed, type ObservedSandbox } from '../../src/reconciler/types.js';
import { BLUEPRINT_FILES, type BlueprintFile, type Inventory, type InventoryEntry } from '../../src/state/types.js';
import type { EnforcementReport } from '../../src/init-protocol/report.js';
import { tempFiles } from '../helpers/tmp.js';

export interface SandboxSpec {
  readWrite?: string[];
  egress?: { name: string; host: string; port: number; protocol?: 'http' | 'https'; methods?: string[]; paths?: string[] }[];
  protect?: boolean;
  seccompDeny?: string[];
  user?: number;
}

export function yamlFor(sandboxes: Record<string, SandboxSpec>): string {
  const lines = ['version: 1', 'sandboxes:'];
  for (const [name, s] of Object.entries(sandboxes)) {
    lines.push(`  ${name}:`, `    command: [/bin/sh, -c, "sleep 1000"]`);
    if (s.protect) lines.push('    protect: true');
    lines.push('    filesystem:', '      read_only: [/usr, /lib]', `      read_write: [${(s.readWrite ?? ['/tmp']).join(', ')}]`);
    if (s.seccompDeny || s.user) {
      lines.push('    process:');
      if (s.user) lines.push(`      user: ${s.user}`);
      if (s.seccompDeny) lines.push(`      seccomp: { deny: [${s.seccompDeny.join(', ')}] }`);
    }
    if (s.egress?.length) {
      lines.push('    network:', '      egress:');
      for (const e of s.egress) {
        lines.push(`        - name: ${e.name}`, '          endpoints:');
        const extra = [
          e.protocol ? `protocol: ${e.protocol}` : '',
          e.methods ? `methods: [${e.methods.join(', ')}]` : '',
          e.paths ? `paths: [${e.paths.map((p) => JSON.stringify(p)).join(', ')}]` : '',
        ].filter(Boolean);
        lines.push(`            - { host: ${e.host}, port: ${e.port}${extra.length ? ', ' + extra.join(', ') : ''} }`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

export async function compileSpec(t: TestContext, sandboxes: Record<string, SandboxSpec>): Promise<CompiledSandbox[]> {
  const dir = tempFiles(t, { 'nemoclaw.yaml': yamlFor(sandboxes) });
  return (await loadCompile(join(dir, 'nemoclaw.yaml'), 'update')).output.sandboxes;
}

export function desiredOf(sbs: CompiledSandbox[]): Desired {
  return { configPath: 'nemoclaw.yaml', configDigest: 'sha256:x', gitCommit: null, sandboxes: sbs };
}

export function entryOf(sb: CompiledSandbox, patch: Partial<InventoryEntry> = {}): InventoryEntry {
  return {
    name: sb.name,
    runtime: 'process',
    blueprint_digest: sb.digest,
    artifacts: Object.fromEntries(BLUEPRINT_FILES.map((f) => [f, sha256(sb.files[f])])) as Record<BlueprintFile, string>,
    config_path: 'nemoclaw.yaml',
    git_commit: null,
    driver: { kind: 'process', id: sb.name },
    gateway_socket: null,
    protect: sb.artifacts.sandbox.protect,
    status: 'ready',
    created_at: 't',
    updated_at: 't',
    ...patch,
  };
}

export function inventoryOf(sbs: CompiledSandbox[]): Inventory {
  return { format_version: 1, sandboxes: Object.fromEntries(sbs.map((s) => [s.name, entryOf(s)])) };
}

/** An init report that meets everything the blueprint requires. */
export function goodReport(sb: CompiledSandbox): EnforcementReport {
  const s = sb.artifacts.sandbox;
  return {
    ok: true,
    sandbox: sb.name,
    namespaces: ['mnt', 'pid', 'net', 'ipc', 'uts'],
    uid: s.user.uid,
    gid: s.user.gid,
    landlock: {
      abi: 7,
      floor: sb.artifacts.landlock.abi_floor,
      enforced: true,
      handled_fs: [],
      handled_net: [],
      scoped: [],
      path_rules: sb.artifacts.landlock.path_rules.length,
      net_rules: 0,
      skipped_rules: 0,
    },
    seccomp: { instructions: 100, sha256: 'ab'.repeat(32) },
    no_new_privs: true,
    capabilities: 'none',
    dumpable: false,
    limits: { nofile: 1, core: 0, pids: 1, pids_via: 'cgroup', memory_via: 'cgroup' },
    network: { loopback: true, relay: s.network.mode === 'gateway', proxy_port: 3128 },
  };
}

export function observedSandbox(
  sb: CompiledSandbox,
  patch: Partial<ObservedSandbox['process']> = {},
  policy?: string | null,
): ObservedSandbox {
  return {
    name: sb.name,
    process: {
      state: 'running',
      digest: sb.digest,
      pid: 42,
      restarts: 0,
      report: goodReport(sb),
      seccomp_digest: 'sha256:' + 'ab'.repeat(32),
      last_error: null,
      locked_same: null,
      ...patch,
    },
    policy_version:
      policy === undefined ? (sb.artifacts.sandbox.network.mode === 'gateway' ? policyVersion(sb.files['egress.json']) : null) : policy,
    edited_files: [],
  };
}

export function observedOf(sbs: CompiledSandbox[]): Observed {
  return {
    gateway: { running: true, pid: 1, test_hooks: [] },
    sandboxes: Object.fromEntries(sbs.map((s) => [s.name, observedSandbox(s)])),
    unknown: [],
  };
}

export const currentOf = (sbs: CompiledSandbox[]) => Object.fromEntries(sbs.map((s) => [s.name, s]));
