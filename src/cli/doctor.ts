// `nemoclaw doctor`: what this host can enforce, and which configs would run here.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import Docker from 'dockerode';
import type { RuntimeKind } from '../compiler/artifacts.js';
import { loadCompile } from '../pipeline/pipeline.js';
import { packageRoot } from '../util/package-paths.js';
import { probeHost, type HostFacts } from '../runtime/process/host.js';
import { preflight } from '../runtime/process/preflight.js';

export interface DockerFacts {
  reachable: boolean;
  version: string | null;
  error: string | null;
}

export interface ConfigVerdict {
  file: string;
  sandbox: string | null;
  runtime: RuntimeKind | null;
  verdict: 'runs' | 'refused' | 'invalid';
  reasons: string[];
  warnings: string[];
}

export interface DoctorReport {
  format_version: 1;
  host: HostFacts;
  docker: DockerFacts;
  /** Can the embedded runtime run the default policy (hard Landlock floor 4) here? */
  process_runtime_ready: boolean;
  configs: ConfigVerdict[];
}

export async function probeDocker(timeoutMs = 3000): Promise<DockerFacts> {
  try {
    const docker = new Docker({ timeout: timeoutMs });
    const v = await docker.version();
    return { reachable: true, version: v.Version ?? null, error: null };
  } catch (e) {
    return { reachable: false, version: null, error: (e as Error).message.split('\n')[0] ?? null };
  }
}

export function exampleConfigs(root = join(packageRoot, 'examples')): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .map((d) => join(root, d, 'nemoclaw.yaml'))
    .filter((f) => existsSync(f));
}

async function judge(file: string, host: HostFacts, docker: DockerFacts): Promise<ConfigVerdict[]> {
  const shown = relative(packageRoot, file) || file;
  let compiled;
  try {
    // 'update': judge what the file asks for even when its lock is stale; nothing is written.
    compiled = await loadCompile(file, 'update');
  } catch (e) {
    return [{ file: shown, sandbox: null, runtime: null, verdict: 'invalid', reasons: [(e as Error).message], warnings: [] }];
  }
  return compiled.output.sandboxes.map((s) => {
    const runtime = s.artifacts.sandbox.runtime;
    if (runtime === 'docker') {
      const reasons = docker.reachable ? [] : [`docker: engine unreachable (${docker.error})`];
      return { file: shown, sandbox: s.name, runtime, verdict: reasons.length ? 'refused' : 'runs', reasons, warnings: [] };
    }
    const pf = preflight(s.artifacts, host);
    return {
      file: shown,
      sandbox: s.name,
      runtime,
      verdict: pf.ok ? 'runs' : 'refused',
      reasons: pf.refusals.map((r) => `${r.mechanism}: ${r.reason}`),
      warnings: pf.warnings,
    };
  });
}

export async function doctor(configs: string[] = exampleConfigs()): Promise<DoctorReport> {
  const [host, docker] = await Promise.all([probeHost(), probeDocker()]);
  const k = host.kernel;
  const ready = !!k && k.landlock_abi >= 4 && k.seccomp && host.libseccomp.ok && k.mntns && k.pidns && k.netns && (k.root || k.userns);
  const verdicts: ConfigVerdict[] = [];
  for (const f of configs) verdicts.push(...(await judge(f, host, docker)));
  return { format_version: 1, host, docker, process_runtime_ready: ready, configs: verdicts };
}
