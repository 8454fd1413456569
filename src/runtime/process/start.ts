// Starts one sandbox in the embedded runtime: preflight, state directories, cgroups, BPF, then
// nemoclaw-init with the spec (fd 3), the BPF (fd 4) and a report pipe (fd 5). Resolves once
// the init has reported what it enforced, i.e. right before the agent is exec'd.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, promises as fsp, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LandlockArtifact, SandboxArtifact, SeccompProfile } from '../../compiler/artifacts.js';
import { UserError } from '../../util/errors.js';
import { initBinary } from '../../util/package-paths.js';
import { readCachedBpf, seccompBpfFor } from '../seccomp-cache.js';
import { createCgroups } from './cgroup.js';
import { describeExit } from '../exit-reason.js';
import { probeHost, type HostFacts } from './host.js';
import { rwDirMode, sandboxPaths } from '../../state/sandbox-layout.js';
import { preflight } from './preflight.js';
import { parseReport, type EnforcementReport, type InitFailure } from '../../init-protocol/report.js';
import { buildInitSpec } from '../../init-protocol/spec.js';
import { resolveSecrets } from '../secrets.js';
import { allocateUidRange } from '../../state/uid-ranges.js';
import { handOver } from './data-owner.js';
import { checkRoot } from './root-check.js';
import { prepareDisk } from './disk.js';
import { launchHere, launchInWorker, type LaunchOptions } from './launch.js';

/** Exit code of `nemoclaw run` when the init refused to start the agent (as `docker run`). */
export const INIT_REFUSED = 125;

export interface StartOptions {
  artifacts: { sandbox: SandboxArtifact; landlock: LandlockArtifact; seccomp: SeccompProfile };
  stateDir: string;
  /** Replaces the sandbox's command. */
  command?: string[];
  /** stdin, stdout, stderr of the agent. Default: inherit. */
  stdio?:
    | 'inherit'
    | 'pipe'
    | 'ignore'
    | ['inherit' | 'pipe' | 'ignore' | number, 'inherit' | 'pipe' | 'ignore' | number, 'inherit' | 'pipe' | 'ignore' | number];
  /** Host facts (tests); probed when absent. */
  host?: HostFacts;
  /** Where `env:` secrets are read; default: this process's environment. */
  secretEnv?: NodeJS.ProcessEnv;
  /** OCI layout directories or tars to find the sandbox's image in, besides STATE/images/oci/. */
  imageLayouts?: string[];
  /**
   * Start the init from a worker thread (launch.ts): for the daemon, whose event loop must not
   * stop for each fork. stdio must then be file descriptors, 'ignore' or 'inherit'; `child` is absent.
   */
  offThread?: boolean;
}

export interface ExitStatus {
  /** Agent's exit code, 128+N when killed by signal N, 125 when the init refused. */
  code: number;
  /** The OOM killer fired in the sandbox's memory cgroup during this run. */
  oomKilled: boolean;
  /** In words: "killed: memory limit 512 MiB reached", "exited with code 3". */
  reason: string;
}

export interface RunningSandbox {
  name: string;
  /** Host pid of the init's outer process: signal it to stop the sandbox. */
  pid: number;
  report: EnforcementReport;
  seccomp: { ruleCount: number; digest: string };
  gateway: { socket: string; running: boolean } | null;
  /** Mechanisms running with less than the config asks for (best_effort, no cgroups...). */
  warnings: string[];
  /** The init's process, when it was started in this thread (not with offThread). */
  child?: ChildProcess;
  wait(): Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when every process of the sandbox is gone. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/** mkdir -p (and chown as root), in the thread pool: the daemon's loop must not wait on the file system's journal. */
async function ensureDir(path: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  await fsp.mkdir(path, { recursive: true, mode });
  if (owner && process.getuid?.() === 0) {
    const st = await fsp.stat(path);
    if (st.uid !== owner.uid || st.gid !== owner.gid) await fsp.chown(path, owner.uid, owner.gid);
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

export async function startSandbox(opts: StartOptions & { offThread?: false }): Promise<RunningSandbox & { child: ChildProcess }>;
export async function startSandbox(opts: StartOptions): Promise<RunningSandbox>;
export async function startSandbox(opts: StartOptions): Promise<RunningSandbox> {
  const { sandbox, landlock, seccomp } = opts.artifacts;
  const host = opts.host ?? (await probeHost());
  // A filter compiled before needs no libseccomp now: preflight asks for it only without one.
  const cachedBpf = readCachedBpf(opts.stateDir, seccomp);
  const pf = preflight({ sandbox, landlock }, host, { seccompCompiled: cachedBpf !== null });
  if (!pf.ok) {
    const lines = pf.refusals.map((r) => `  - ${r.mechanism}: ${r.reason}`).join('\n');
    throw new UserError(`sandbox "${sandbox.name}" cannot start on this host:\n${lines}`);
  }

  // Before anything is created: a missing secret must leave nothing behind.
  const secrets = resolveSecrets(sandbox, opts.secretEnv);

  // The image is unpacked (once per digest) before anything else is created for the sandbox.
  // Loaded only for an image (tar-stream, zlib): most sandboxes run from host paths.
  const imageRoot = sandbox.image
    ? (await (await import('./image-root.js')).ensureImageRoot(opts.stateDir, sandbox.image, opts.imageLayouts)).path
    : null;

  const paths = sandboxPaths(opts.stateDir, sandbox.name);
  await ensureDir(paths.rootMount, 0o755);
  // As root, the sandbox's own host id range (break 4 of issue 14): the agent is uid N inside,
  // host FIRST+N outside, so no per-uid kernel limit or file is shared with another sandbox or a
  // host user. Unprivileged, the user namespace maps only the caller's own uid.
  const idmap = process.getuid?.() === 0 ? allocateUidRange(opts.stateDir, sandbox.name).first : null;
  const owner = idmap === null ? sandbox.user : { uid: idmap + sandbox.user.uid, gid: idmap + sandbox.user.gid };
  const rwDirs: Record<string, string> = {};
  if (pf.ownDisk) {
    // The init makes the rw directories inside the image (owned by the agent's host ids).
    await prepareDisk(paths.diskImage, sandbox.limits.disk_bytes, join(paths.dir, 'rw'), owner);
    await ensureDir(paths.diskMount, 0o700);
    for (const m of sandbox.mounts) if (m.mode === 'rw') rwDirs[m.target] = paths.diskRwDir(m.target);
  } else
    for (const m of sandbox.mounts) {
      if (m.mode !== 'rw') continue;
      const rw = (rwDirs[m.target] = paths.rwDir(m.target));
      if (idmap === null) await ensureDir(rw, 0o700, owner);
      else {
        await ensureDir(rw, 0o700);
        handOver(rw, owner);
      }
      chmodSync(rw, rwDirMode(m.target)); // explicit: mkdir's mode is masked by the umask
    }
  // Before the init: a command that cannot start gets a clear message, not exit 127 from inside.
  checkRoot({ sandbox, imageRoot, rwDirs: pf.ownDisk ? null : rwDirs }, opts.command);
  let gateway: RunningSandbox['gateway'] = null;
  if (sandbox.network.mode === 'gateway') {
    // The relay keeps the socket's directory open, so it must exist even if the gateway does not run yet.
    await ensureDir(dirname(paths.gatewaySocket), 0o700);
    gateway = { socket: paths.gatewaySocket, running: isSocket(paths.gatewaySocket) };
  }

  const { bpf, ruleCount, digest } = cachedBpf ?? seccompBpfFor(opts.stateDir, seccomp);
  const cgroups = createCgroups(sandbox.name, sandbox.limits, host.cgroups);
  const spec = buildInitSpec({
    sandbox,
    landlock,
    rootDir: paths.rootMount,
    imageRoot,
    rwDirs,
    idmap,
    disk: pf.ownDisk ? { image: paths.diskImage, mount: paths.diskMount } : null,
    gatewaySocket: gateway?.socket ?? null,
    cgroups: { pids: cgroups.pids, memory: cgroups.memory },
    command: opts.command,
    secrets, // travels only over the spec pipe (fd 3)
  });

  const io = opts.stdio ?? 'inherit';
  const stdio = (typeof io === 'string' ? [io, io, io] : io) as LaunchOptions['stdio'];
  const launchOptions: LaunchOptions = { file: initBinary, stdio, spec: Buffer.from(spec), bpf };
  const child = opts.offThread ? await launchInWorker(launchOptions) : launchHere(launchOptions);
  const exited = child.exit.then(({ code, error }) => {
    if (error) return cgroups.remove().then(() => ({ code: INIT_REFUSED, oomKilled: false, reason: `exited with code ${INIT_REFUSED}` }));
    // Read before the cgroup is removed: its counter goes with it.
    const oomKilled = cgroups.oomKills() > 0;
    const reason = describeExit({ code, oomKilled, memoryLimitBytes: sandbox.limits.memory_bytes });
    return cgroups.remove().then(() => ({ code, oomKilled, reason }));
  });

  const line = await child.report;
  let parsed: EnforcementReport | InitFailure | null = null;
  try {
    parsed = line === null ? null : parseReport(line);
  } catch {
    /* treated as a failure below */
  }
  if (!parsed || !parsed.ok) {
    child.kill('SIGKILL');
    await exited;
    const why = parsed ? `${parsed.step}: ${parsed.error}` : line === null ? 'the init exited without a report' : `unreadable report`;
    throw new UserError(`sandbox "${sandbox.name}" refused to start: ${why}`, [], INIT_REFUSED);
  }
  const report = parsed;

  const stop = async (graceMs = 5000): Promise<ExitStatus> => {
    if (!child.exited()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    }
    return exited;
  };
  return {
    name: sandbox.name,
    pid: child.pid as number,
    report,
    seccomp: { ruleCount, digest },
    gateway,
    warnings: [
      ...pf.warnings,
      ...cgroups.notes,
      ...(report.read_only_sockets === 'reachable'
        ? ['unix sockets under read_only paths are reachable (read-only binds are idmapped only when started as root)']
        : []),
    ],
    child: child.child,
    wait: () => exited,
    stop,
  } as RunningSandbox & { child: ChildProcess };
}
