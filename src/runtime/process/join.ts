// `nemoclaw connect` for the embedded runtime: runs a command inside a running sandbox through
// `nemoclaw-init --join PID` (src/init/join.c), which enters the sandbox's namespaces and cgroups
// and applies the SAME Landlock ruleset and seccomp filter as the agent, from the same artifacts.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { LandlockArtifact, SandboxArtifact, SeccompProfile } from '../../compiler/artifacts.js';
import { buildInitSpec } from '../../init-protocol/spec.js';
import { sandboxPaths } from '../../state/sandbox-layout.js';
import { findUidRange } from '../../state/uid-ranges.js';
import { initBinary } from '../../util/package-paths.js';
import { seccompBpfFor } from '../seccomp-cache.js';
import { CGROUP_ROOT } from './host.js';

export interface JoinOptions {
  artifacts: { sandbox: SandboxArtifact; landlock: LandlockArtifact; seccomp: SeccompProfile };
  stateDir: string;
  /** Host pid of the sandbox's outer init (what the supervisor reports). */
  pid: number;
  command: string[];
  stdio?: 'inherit' | 'pipe';
}

/**
 * The cgroups the sandbox's init joined (its limits must bind the connected command too), from
 * /proc/PID/cgroup: only nemoclaw's own (under /nemoclaw/), so a foreign pid joins nothing.
 */
export function sandboxCgroups(pid: number, root = CGROUP_ROOT): { pids?: string; memory?: string } {
  const out: { pids?: string; memory?: string } = {};
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':', 3) as [string, string | undefined, string | undefined];
    if (!path?.startsWith('/nemoclaw/') || controllers === undefined) continue;
    if (controllers === '')
      out.pids = out.memory = join(root, path); // v2: one directory, both controllers
    else for (const c of ['pids', 'memory'] as const) if (controllers.split(',').includes(c)) out[c] = join(root, c, path);
  }
  return out;
}

export interface Joined {
  child: ChildProcess;
  /** The command's exit code, 128+N when killed by signal N, 125 when the init refused. */
  exited: Promise<number>;
}

/** Spawns the joined command. */
export function joinSandbox(opts: JoinOptions): Joined {
  const { sandbox, landlock, seccomp } = opts.artifacts;
  const paths = sandboxPaths(opts.stateDir, sandbox.name);
  const rwDirs = Object.fromEntries(sandbox.mounts.filter((m) => m.mode === 'rw').map((m) => [m.target, paths.rwDir(m.target)]));
  // No secrets: the spec carries the agent's environment without them (connect never gets more than the agent).
  const spec = buildInitSpec({
    sandbox,
    landlock,
    rootDir: paths.rootMount,
    rwDirs,
    gatewaySocket: null,
    // As root the agent has its own user namespace over the sandbox's host id range: the init
    // joins that namespace (the agent's, not the outer init's) and takes the agent's ids in it.
    idmap: process.getuid?.() === 0 ? (findUidRange(opts.stateDir, sandbox.name)?.first ?? null) : null,
    cgroups: sandboxCgroups(opts.pid),
    command: opts.command,
  });
  const { bpf } = seccompBpfFor(opts.stateDir, seccomp);
  const io = opts.stdio ?? 'inherit';
  const child = spawn(initBinary, ['--join', String(opts.pid)], { stdio: [io, io, io, 'pipe', 'pipe'], env: {} });
  for (const [i, data] of [
    [3, spec],
    [4, bpf],
  ] as const) {
    const p = child.stdio[i] as Writable;
    p.on('error', () => {
      /* the init refused early; its stderr says why */
    });
    p.end(data);
  }
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    child.on('error', () => resolve(125));
  });
  return { child, exited };
}
