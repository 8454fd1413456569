// Can this sandbox run HERE, beyond what the kernel enforces: is its image really on this host
// (and is the pinned digest that image, not a placeholder), is its command found, is the Node
// runtime new enough where the blueprint asks for one. Pure over the probes it is given, so the
// judgement is unit-tested without a Docker engine or a particular host.
import { join, posix } from 'node:path';
import type { SandboxArtifacts } from '../compiler/artifacts.js';

export interface ImageFacts {
  id: string;
  repoDigests: string[];
}

export interface ExampleProbes {
  dockerReachable: boolean;
  /** What the engine has under this reference or image id, or null. */
  image(ref: string): ImageFacts | null;
  /** A regular, executable file on the host. */
  isExecutable(hostPath: string): boolean;
  /** `node --version` of that binary (e.g. "v20.20.2"), or null when it does not run. */
  nodeVersion(hostPath: string): string | null;
  /** Does nemoclaw's image store (`nemoclaw image build`) hold this image digest (process runtime)? */
  storedImage(digest: string): boolean;
}

export interface ExampleCheck {
  reasons: string[];
  warnings: string[];
}

const PINNED = /^(.*)@(sha256:[0-9a-f]{64})$/;

/** Docker: present locally, and the pinned digest is that image's (its id or a repo digest). */
export function checkImage(ref: string, probes: ExampleProbes): string[] {
  if (!probes.dockerReachable) return []; // said once, by the engine check
  const m = PINNED.exec(ref);
  const digest = m?.[2];
  const byRef = probes.image(ref);
  if (byRef) return [];
  if (digest) {
    const byId = probes.image(digest);
    if (byId) return [];
    const repo = m![1]!;
    const anyTag = probes.image(repo);
    return anyTag
      ? [
          `image: pinned digest ${digest.slice(0, 19)}… is not the local ${repo} (${anyTag.id.slice(0, 19)}…): update the lock, or pull the pinned image`,
        ]
      : [
          `image: ${repo} pinned at ${digest.slice(0, 19)}… is not on this host: no local image has that digest (a placeholder, or never pulled/loaded)`,
        ];
  }
  return [`image: ${ref} is not on this host (pull or load it)`];
}

/** Host directories the sandbox sees as the host's own: its read-only binds (target = host path). */
function roBinds(sb: SandboxArtifacts['sandbox']): string[] {
  return sb.mounts.filter((m) => m.mode === 'ro').map((m) => m.target);
}

const within = (path: string, dirs: string[]) => dirs.some((d) => path === d || path.startsWith(d.endsWith('/') ? d : d + '/'));

/** Where the sandbox would find NAME: an absolute path, or the first hit on its PATH, inside its read-only binds. */
export function findInSandbox(name: string, sb: SandboxArtifacts['sandbox'], probes: ExampleProbes): string | null {
  const binds = roBinds(sb);
  if (name.includes('/')) {
    const p = posix.resolve(sb.workdir, name);
    return within(p, binds) && probes.isExecutable(p) ? p : null;
  }
  const path = (sb.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter((d) => d.startsWith('/'));
  for (const dir of path) {
    const p = join(dir, name);
    if (within(p, binds) && probes.isExecutable(p)) return p;
  }
  return null;
}

/** `>=24.16`, `>=20`: the only form blueprints use. Written here (not the semver package) for one operator. */
export function satisfiesMin(version: string, range: string): boolean | null {
  const want = /^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range);
  const have = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!want || !have) return null;
  for (let i = 1; i <= 3; i++) {
    const h = Number(have[i]);
    const w = Number(want[i] ?? 0);
    if (h !== w) return h > w;
  }
  return true;
}

/** The node version a blueprint requires, when the compiled sandbox carries one (`requires.node`). */
function requiredNode(sb: SandboxArtifacts['sandbox']): string | null {
  const req = (sb as { requires?: { node?: unknown } }).requires;
  return typeof req?.node === 'string' ? req.node : null;
}

export function checkExample(artifacts: SandboxArtifacts, probes: ExampleProbes): ExampleCheck {
  const sb = artifacts.sandbox;
  const reasons: string[] = [];
  const warnings: string[] = [];
  const needNode = requiredNode(sb);
  if (sb.runtime === 'docker') {
    if (sb.image) reasons.push(...checkImage(sb.image, probes));
    if (needNode) warnings.push(`node ${needNode}: not checked inside the image`);
    return { reasons, warnings };
  }
  if (sb.image) {
    // An image root: the command and Node are the image's, checked inside it when the sandbox starts.
    const m = PINNED.exec(sb.image);
    if (m && !probes.storedImage(m[2]!))
      reasons.push(
        `image: ${m[1]} pinned at ${m[2]!.slice(0, 19)}… is not built here: run \`nemoclaw image build\` on its definition (images/)`,
      );
    return { reasons, warnings };
  }
  const cmd = sb.command[0];
  if (cmd) {
    const found = findInSandbox(cmd, sb, probes);
    if (!found) {
      reasons.push(
        `command: ${cmd} is not found in the sandbox (${cmd.includes('/') ? 'not an executable inside its read-only binds' : `PATH ${sb.env.PATH ?? '(default)'}, within its read-only binds`})`,
      );
    }
  }
  if (needNode) {
    const node = findInSandbox('node', sb, probes);
    const v = node ? probes.nodeVersion(node) : null;
    if (!node || !v) reasons.push(`node ${needNode}: no node runs in the sandbox`);
    else {
      const ok = satisfiesMin(v, needNode);
      if (ok === false) reasons.push(`node ${needNode}: the sandbox's ${node} is ${v}`);
      else if (ok === null) warnings.push(`node: cannot compare ${v} with "${needNode}"`);
    }
  }
  return { reasons, warnings };
}
