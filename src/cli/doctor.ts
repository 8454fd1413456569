// `nemoclaw doctor`: what this host can enforce, and which configs would run here.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Docker from 'dockerode';
import type { RuntimeKind } from '../compiler/artifacts.js';
import { loadCompile } from '../pipeline/pipeline.js';
import { packageRoot } from '../util/package-paths.js';
import { probeHost, type HostFacts } from '../runtime/process/host.js';
import { preflight } from '../runtime/process/preflight.js';
import { checkExample, type ExampleProbes, type ImageFacts } from './example-checks.js';
import { ImageStore } from '../image/store.js';

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
  /** The state directory apply/run would use: absent (created on first use), or whether it is writable. */
  state_dir: { path: string; state: 'absent' | 'writable' | 'not writable' };
}

function stateDirFacts(path: string): DoctorReport['state_dir'] {
  if (!existsSync(path)) return { path, state: 'absent' };
  try {
    accessSync(path, constants.W_OK);
    return { path, state: 'writable' };
  } catch {
    return { path, state: 'not writable' };
  }
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

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function nodeVersion(p: string): string | null {
  try {
    return execFileSync(p, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** What the engine has under each reference (as given, the pinned digest as an image id, the bare repository). */
async function probeImages(refs: string[], docker: DockerFacts): Promise<Map<string, ImageFacts>> {
  const out = new Map<string, ImageFacts>();
  if (!docker.reachable || refs.length === 0) return out;
  const engine = new Docker();
  const names = new Set<string>();
  for (const ref of refs) {
    names.add(ref);
    const m = /^(.*)@(sha256:[0-9a-f]{64})$/.exec(ref);
    if (m) {
      names.add(m[1]!);
      names.add(m[2]!);
    }
  }
  for (const name of names) {
    try {
      const info = await engine.getImage(name).inspect();
      out.set(name, { id: info.Id, repoDigests: info.RepoDigests ?? [] });
    } catch {
      /* absent */
    }
  }
  return out;
}

/** Manifest digests of the images in nemoclaw's store (none when there is no store, or it cannot be read). */
function storedDigests(stateDir: string): Set<string> {
  try {
    return new Set(
      ImageStore.open(stateDir)
        .list()
        .map((i) => i.digest),
    );
  } catch {
    return new Set();
  }
}

async function judge(file: string, host: HostFacts, docker: DockerFacts, stateDir: string): Promise<ConfigVerdict[]> {
  const shown = relative(packageRoot, file) || file;
  let compiled;
  try {
    // 'update': judge what the file asks for even when its lock is stale; nothing is written.
    compiled = await loadCompile(file, 'update');
  } catch (e) {
    return [{ file: shown, sandbox: null, runtime: null, verdict: 'invalid', reasons: [(e as Error).message], warnings: [] }];
  }
  const images = await probeImages(
    compiled.output.sandboxes.flatMap((s) =>
      s.artifacts.sandbox.runtime === 'docker' && s.artifacts.sandbox.image ? [s.artifacts.sandbox.image] : [],
    ),
    docker,
  );
  const stored = storedDigests(stateDir);
  const probes: ExampleProbes = {
    dockerReachable: docker.reachable,
    image: (ref) => images.get(ref) ?? null,
    isExecutable,
    nodeVersion,
    storedImage: (digest) => stored.has(digest),
  };
  return compiled.output.sandboxes.map((s) => {
    const runtime = s.artifacts.sandbox.runtime;
    const here = checkExample(s.artifacts, probes);
    if (runtime === 'docker') {
      const reasons = [...(docker.reachable ? [] : [`docker: engine unreachable (${docker.error})`]), ...here.reasons];
      return { file: shown, sandbox: s.name, runtime, verdict: reasons.length ? 'refused' : 'runs', reasons, warnings: here.warnings };
    }
    const pf = preflight(s.artifacts, host);
    const reasons = [...pf.refusals.map((r) => `${r.mechanism}: ${r.reason}`), ...here.reasons];
    return {
      file: shown,
      sandbox: s.name,
      runtime,
      verdict: reasons.length ? 'refused' : 'runs',
      reasons,
      warnings: [...pf.warnings, ...here.warnings],
    };
  });
}

export async function doctor(stateDir: string, configs: string[] = exampleConfigs()): Promise<DoctorReport> {
  const [host, docker] = await Promise.all([probeHost({ fresh: true }), probeDocker()]);
  const k = host.kernel;
  const ready = !!k && k.landlock_abi >= 4 && k.seccomp && host.libseccomp.ok && k.mntns && k.pidns && k.netns && (k.root || k.userns);
  const verdicts: ConfigVerdict[] = [];
  for (const f of configs) verdicts.push(...(await judge(f, host, docker, stateDir)));
  return { format_version: 1, host, docker, process_runtime_ready: ready, configs: verdicts, state_dir: stateDirFacts(stateDir) };
}
