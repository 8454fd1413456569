// The docker driver: one container per sandbox, through dockerode.
// Docker creates the namespaces and loads a seccomp profile itself (HostConfig.SecurityOpt); the
// static nemoclaw-init, bind-mounted read-only as the entrypoint, does the rest in "container mode":
// relay to the gateway, exact env, rlimits, no_new_privs, Landlock, then exec the agent.
// As root, every sandbox gets its own host id range (issue 14, break 4) though Docker has one
// userns-remap per daemon: the container starts as root with CAP_SETUID/SETGID/SETPCAP only, the
// init puts the agent in a user namespace of its own mapping uid N to host BASE+N (as the embedded
// runtime does), and the agent stacks its own seccomp filter on Docker's (docker-seccomp.ts).
// Containers are found by label for observation, but removed only by the id the inventory holds.
// A sandbox with `secrets:` gets its spec through a FIFO instead of a file (see writeSpecToFifo):
// the values never reach the container config (`docker inspect`) or the disk.
import type Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initBinary } from '../../util/package-paths.js';
import { buildInitSpec } from '../../init-protocol/spec.js';
import { rwDirMode, sandboxPaths } from '../../state/sandbox-layout.js';
import { parseReport, type EnforcementReport } from '../../init-protocol/report.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { resolveSecrets } from '../../runtime/secrets.js';
import { seccompBpfFor } from '../../runtime/seccomp-cache.js';
import { describeExit } from '../../runtime/exit-reason.js';
import { allocateUidRange } from '../../state/uid-ranges.js';
import { handOver, type Owner } from '../../runtime/process/data-owner.js';
import { containerSeccompProfile } from './docker-seccomp.js';
import { mountDockerDisk, unmountDockerDisk } from './docker-disk.js';
import type { DesiredSandbox, ProcessState } from '../../state/types.js';
import { knownView, unknownView, type Driver, type DriverContext, type DriverObservation, type DriverView } from './driver.js';

const LABEL_SANDBOX = 'dev.nemoclaw.sandbox';
const LABEL_STATE = 'dev.nemoclaw.state';
/** Inside the container: the init, its run directory (spec in, report out) and the gateway socket dir. */
export const IN_INIT = '/.nemoclaw/init';
export const IN_RUN = '/.nemoclaw/run';
const IN_GATEWAY = '/.nemoclaw/gateway';
const REPORT_TIMEOUT_MS = 30_000;

// dockerode takes ~130 ms to import; load it only when a docker sandbox is handled.
let engine: Docker | undefined;
async function loadEngine(): Promise<Docker> {
  if (!engine) {
    const { default: DockerCtor } = await import('dockerode');
    engine = new DockerCtor();
  }
  return engine;
}
const docker = (): Docker => {
  if (!engine) throw new Error('docker engine client used before loadEngine()');
  return engine;
};

/** ` at unix:///…` when DOCKER_HOST names the engine (dockerode reads it), else nothing. */
const engineAddress = (): string => (process.env.DOCKER_HOST ? ` at ${process.env.DOCKER_HOST}` : '');
const errorText = (e: unknown): string => (e as Error).message || ((e as NodeJS.ErrnoException).code ?? String(e));

/** Containers of different state directories (e.g. tests) never see each other. */
function stateLabel(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 16);
}

export function runDir(stateDir: string, name: string): string {
  return join(sandboxPaths(stateDir, name).dir, 'docker');
}

/** The init's report, completed with what only the driver knows (the disk limit is mounted on the host). */
function readReport(stateDir: string, name: string): EnforcementReport | null {
  try {
    const r = parseReport(readFileSync(join(runDir(stateDir, name), 'report.json'), 'utf8').trim());
    if (!r.ok) return null;
    const missing = readNotEnforced(runDir(stateDir, name));
    // uid/gid are the agent's own (inside its user namespace); host_uid/host_gid, when the init
    // built that namespace over the sandbox's range, what the host sees. As root every container
    // gets one; a container without (created by an earlier nemoclaw) says so, loudly, until replaced.
    const noRange =
      process.getuid?.() === 0 && r.host_uid === undefined
        ? [
            'own host id range: the container predates it and runs as the configured uid on the host (destroy and apply the sandbox to move it)',
          ]
        : [];
    const notEnforced = [...missing, ...noRange];
    return {
      ...r,
      disk: missing.length > 0 ? 'shared' : 'own_filesystem',
      ...(notEnforced.length > 0 ? { not_enforced: notEnforced } : {}),
    };
  } catch {
    return null;
  }
}

/** The driver's note of what best_effort left unenforced for the running container (one per line). */
function writeNotEnforced(run: string, lines: string[]): void {
  writeFileAtomic(join(run, 'not-enforced'), lines.map((l) => l + '\n').join(''));
}

function readNotEnforced(run: string): string[] {
  try {
    return readFileSync(join(run, 'not-enforced'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Digest of the agent's own filter the init stacks on Docker's (as root), or null (Docker's alone). */
function stackedSeccompDigest(stateDir: string, name: string): string | null {
  try {
    return (
      'sha256:' +
      createHash('sha256')
        .update(readFileSync(join(runDir(stateDir, name), SECCOMP_BPF)))
        .digest('hex')
    );
  } catch {
    return null;
  }
}

function appliedDigest(stateDir: string, name: string): string | null {
  try {
    return readFileSync(join(runDir(stateDir, name), 'digest'), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function stateOf(s: Docker.ContainerInspectInfo['State']): ProcessState {
  if (s.Restarting) return 'backoff';
  if (s.Running) return 'running';
  return s.ExitCode === 0 ? 'stopped' : 'failed';
}

/** `repo@sha256:x` for registry digests; an image id pinned by the lock is found as `sha256:x`. */
async function resolveImage(ref: string): Promise<string> {
  try {
    await docker().getImage(ref).inspect();
    return ref;
  } catch {
    const digest = /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1];
    if (digest) {
      try {
        await docker().getImage(digest).inspect();
        return digest;
      } catch {
        /* fall through */
      }
    }
    throw new Error(`image ${ref} is not available to the Docker engine (pull it, or load it, first)`);
  }
}

/** Why a stopped container stopped; Docker records an OOM kill in State.OOMKilled. */
export function containerExitReason(info: Docker.ContainerInspectInfo): string {
  return describeExit({ code: info.State.ExitCode, oomKilled: info.State.OOMKilled, memoryLimitBytes: info.HostConfig.Memory ?? 0 });
}

/**
 * Docker forgets State.OOMKilled when it restarts a container itself (restart policy); its event
 * log does not. Asked only for a container that has restarted: an OOM kill since it was created.
 */
async function oomSinceCreated(info: Docker.ContainerInspectInfo): Promise<boolean> {
  try {
    const since = Math.floor(Date.parse(info.Created) / 1000);
    const until = Math.ceil(Date.now() / 1000);
    const stream = await docker().getEvents({ since, until, filters: { container: [info.Id], event: ['oom'] } });
    let text = '';
    for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    return text.includes('"oom"');
  } catch {
    return false; // no history: nothing is claimed
  }
}

async function observeOne(stateDir: string, info: Docker.ContainerInspectInfo): Promise<[string, DriverObservation]> {
  const name = info.Config.Labels[LABEL_SANDBOX]!;
  const lastExit =
    info.RestartCount > 0 && (await oomSinceCreated(info))
      ? describeExit({ code: 137, oomKilled: true, memoryLimitBytes: info.HostConfig.Memory ?? 0 })
      : null;
  return [
    name,
    {
      state: stateOf(info.State),
      digest: appliedDigest(stateDir, name),
      pid: info.State.Pid || null,
      restarts: info.RestartCount,
      report: readReport(stateDir, name),
      // As root, the agent's own filter, stacked on Docker's (the init reports its digest); else
      // Docker loads the only filter and the init checks that one is active (report.seccomp).
      seccomp_digest: stackedSeccompDigest(stateDir, name),
      last_error: info.State.Error || (info.State.Running ? null : containerExitReason(info)),
      last_exit: lastExit,
      id: info.Id,
    },
  ];
}

/** Does this sandbox's init read its spec from a FIFO the driver writes once (it has secrets)? */
const specViaFifo = (sb: DesiredSandbox): boolean => Object.keys(sb.artifacts.sandbox.secrets ?? {}).length > 0;

/** Where the container's ids and rw data come from on the host (see launch). */
export interface ContainerHost {
  ids: SandboxIds;
  rwDir(target: string): string;
}

/** How a container's identity is set up (see sandboxIds). */
export interface SandboxIds {
  /** First host id of the sandbox's own range, given to the init as `idmap`; null: none. */
  idmap: number | null;
  /** The container's `User`: root (idmap: the init builds the agent's user namespace), else the agent's ids. */
  start: Owner;
  /** Host ids the agent's files are owned by: BASE+uid/gid with a range, else the configured ones. */
  data: Owner;
  /** Owner of the run and gateway-socket directories: root with a range (pid 1 and the relays), else the agent. */
  helpers: Owner;
}

/** The run directory records the idmap the running container was given (connect reads it). */
const IDMAP_FILE = 'idmap';
/** The agent's own seccomp filter (BPF, compiled on the host) the init stacks on Docker's, as root. */
export const SECCOMP_BPF = 'seccomp.bpf';
const ROOT: Owner = { uid: 0, gid: 0 };

/**
 * The ids of a docker sandbox. As root (issue 14, break 4): the sandbox's own host id range,
 * allocated on first use; the container starts as root with the few capabilities the init needs
 * to put the agent in a user namespace over that range (uid N inside is host BASE+N), so the agent
 * still sees its configured uid. Unprivileged (engine access only, no range to hand data over to):
 * the container runs as the configured ids, sharing them with the host.
 */
export function sandboxIds(stateDir: string, sandbox: DesiredSandbox['artifacts']['sandbox']): SandboxIds {
  const own: Owner = { uid: sandbox.user.uid, gid: sandbox.user.gid };
  if (process.getuid?.() !== 0) return { idmap: null, start: own, data: own, helpers: own };
  const first = allocateUidRange(stateDir, sandbox.name).first;
  return { idmap: first, start: ROOT, data: { uid: first + own.uid, gid: first + own.gid }, helpers: ROOT };
}

/** The idmap the sandbox's running container was started with (recorded by launch), or null. */
export function runningIdmap(stateDir: string, name: string): number | null {
  try {
    const n = Number(readFileSync(join(runDir(stateDir, name), IDMAP_FILE), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * FOREGROUND: a container `nemoclaw run` owns for as long as it runs: never restarted by Docker,
 * named apart from an applied sandbox, and without the state label, so observe (status, apply)
 * does not take it for one of the inventory's.
 */
export function containerSpec(
  stateDir: string,
  sb: DesiredSandbox,
  image: string,
  foreground = false,
  host: ContainerHost = { ids: sandboxIds(stateDir, sb.artifacts.sandbox), rwDir: sandboxPaths(stateDir, sb.name).rwDir },
): Docker.ContainerCreateOptions {
  const { sandbox, seccomp } = sb.artifacts;
  const paths = sandboxPaths(stateDir, sb.name);
  const binds = [`${initBinary}:${IN_INIT}:ro`, `${runDir(stateDir, sb.name)}:${IN_RUN}:rw`];
  // rw data as `Mounts` of type bind, not `Binds`: Docker creates a missing Binds source, so a
  // container it restarts itself after a reboot (the disk image no longer mounted on the host)
  // would get empty directories on the state file system, outside the disk limit. A missing
  // Mounts source fails the start instead, and the next reconcile re-creates it with its disk.
  const mounts: Docker.MountSettings[] = sandbox.mounts
    .filter((m) => m.mode === 'rw')
    .map((m) => ({ Type: 'bind', Source: host.rwDir(m.target), Target: m.target, ReadOnly: false }));
  if (sandbox.network.mode === 'gateway') binds.push(`${dirname(paths.gatewaySocket)}:${IN_GATEWAY}:rw`); // rw: the init creates its inbound-PORT sockets here; the agent's Landlock rules do not cover it
  return {
    name: `nemoclaw-${sb.name}-${stateLabel(stateDir).slice(0, 8)}${foreground ? '-run' : ''}`,
    Image: image,
    Entrypoint: [IN_INIT, '--container', IN_RUN],
    Cmd: [],
    User: `${host.ids.start.uid}:${host.ids.start.gid}`,
    WorkingDir: sandbox.workdir,
    Env: [],
    Labels: foreground ? { [LABEL_SANDBOX]: sb.name } : { [LABEL_SANDBOX]: sb.name, [LABEL_STATE]: stateLabel(stateDir) },
    NetworkDisabled: false,
    HostConfig: {
      Binds: binds,
      Mounts: mounts,
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      // With a range: only what the init needs to build the agent's user namespace (setresuid/
      // setresgid/setgroups to BASE+uid, the maps, clearing the bounding set); it drops them all.
      // No CAP_SETFCAP: the map never names host uid 0. No CAP_DAC_OVERRIDE: the run directory is root's.
      ...(host.ids.idmap !== null ? { CapAdd: ['SETUID', 'SETGID', 'SETPCAP'] } : {}),
      SecurityOpt: [
        'no-new-privileges:true',
        `seccomp=${JSON.stringify(host.ids.idmap !== null ? containerSeccompProfile(seccomp) : seccomp)}`,
      ],
      PidsLimit: sandbox.limits.pids,
      Memory: sandbox.limits.memory_bytes,
      Ulimits: [
        { Name: 'nofile', Soft: sandbox.limits.nofile, Hard: sandbox.limits.nofile },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      IpcMode: 'private',
      // Docker restarting a container on its own would leave the init waiting for a spec (with its
      // secrets) nobody writes: such a sandbox stays down until the next apply/reconcile re-creates it.
      RestartPolicy: foreground || specViaFifo(sb) ? { Name: 'no' } : { Name: 'unless-stopped', MaximumRetryCount: 0 },
    },
  };
}

async function waitForReport(stateDir: string, name: string, id: string): Promise<void> {
  const deadline = Date.now() + REPORT_TIMEOUT_MS;
  const file = join(runDir(stateDir, name), 'report.json');
  for (;;) {
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      // The init writes one line; until its newline is there, the line may be partial. A failing
      // agent and pid 1 may both write one: the first says why.
      if (text.includes('\n')) {
        const r = parseReport(text.slice(0, text.indexOf('\n')));
        if (!r.ok) throw new Error(`sandbox ${name}: the init refused to start the agent at ${r.step}: ${r.error}`);
        return;
      }
    }
    const info = await docker().getContainer(id).inspect();
    if (!info.State.Running && !info.State.Restarting && Date.now() > deadline - REPORT_TIMEOUT_MS + 2000) {
      const logs = (await docker().getContainer(id).logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8');
      throw new Error(`sandbox ${name}: container exited (${info.State.ExitCode}) before the init reported enforcement:\n${logs}`);
    }
    if (Date.now() > deadline) throw new Error(`sandbox ${name}: no enforcement report within ${REPORT_TIMEOUT_MS / 1000}s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Hand SPEC to the container's init through the FIFO at PATH: wait (non-blocking opens, so a
 * container that dies first cannot hang us) until the init opens it for reading, write, close. The
 * init reads to EOF. The bytes pass through the kernel's pipe buffer only, never the disk.
 */
async function writeSpecToFifo(path: string, spec: string, id: string, name: string): Promise<void> {
  const deadline = Date.now() + REPORT_TIMEOUT_MS;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e; // ENXIO: no reader yet
      const info = await docker().getContainer(id).inspect();
      if (!info.State.Running) throw new Error(`sandbox ${name}: container exited (${info.State.ExitCode}) before the init read its spec`);
      if (Date.now() > deadline) throw new Error(`sandbox ${name}: the init did not read its spec within ${REPORT_TIMEOUT_MS / 1000}s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    const bytes = Buffer.from(spec);
    for (let off = 0; off < bytes.length;) {
      try {
        off += writeSync(fd, bytes, off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e; // pipe full: the init is reading
        if (Date.now() > deadline) throw new Error(`sandbox ${name}: the init stopped reading its spec`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Create and start the container; resolves once the init reported enforcement. */
async function launch(ctx: DriverContext, sb: DesiredSandbox, foreground: boolean): Promise<Docker.Container> {
  const { sandbox, landlock } = sb.artifacts;
  if (!sandbox.image) throw new Error(`sandbox ${sb.name}: runtime docker needs an image`);
  // Read here, in the process that starts the container, before anything is created for it.
  const secrets = resolveSecrets(sandbox);
  await loadEngine();
  const image = await resolveImage(sandbox.image);
  const paths = sandboxPaths(ctx.stateDir, sb.name);
  const run = runDir(ctx.stateDir, sb.name);
  mkdirSync(run, { recursive: true, mode: 0o700 });
  rmSync(join(run, 'report.json'), { force: true });
  const ids = sandboxIds(ctx.stateDir, sandbox);
  // As root, the agent's own filter, stacked by the init on Docker's wider one (docker-seccomp.ts).
  // Compiled before anything is created: a host without libseccomp fails here, clearly.
  let bpf: Buffer | null = null;
  if (ids.idmap !== null) {
    try {
      // Compiled once per profile and kept in the state dir; koffi (libseccomp's FFI) loads only then.
      bpf = seccompBpfFor(ctx.stateDir, sb.artifacts.seccomp).bpf;
    } catch (e) {
      throw new Error(`sandbox ${sb.name}: the agent's seccomp filter (stacked on Docker's, as root) cannot be compiled: ${errorText(e)}`);
    }
  }
  // Before the container exists: the host mount must be there for Docker to bind from it.
  const disk = await mountDockerDisk(ctx.stateDir, sandbox, ids.data);
  writeNotEnforced(run, disk.notEnforced ? [disk.notEnforced] : []);
  const rwDirs: Record<string, string> = {};
  for (const m of sandbox.mounts) {
    if (m.mode !== 'rw') continue;
    rwDirs[m.target] = disk.rwDir(m.target);
    mkdirSync(rwDirs[m.target]!, { recursive: true, mode: 0o700 });
  }
  // The agent's own directories are its own (with a range: handed over once, data of an earlier
  // version included, as the embedded runtime does).
  for (const dir of Object.values(rwDirs)) handOver(dir, ids.data);
  // The run directory and the socket directory are the helpers': root with a range (pid 1 reads
  // the spec and filter before it drops to BASE+uid; the relays keep uid 0 without capabilities,
  // as in the embedded runtime), else the agent's uid. The gateway gives a socket the owner of
  // its directory (also after a restart).
  const helpers = [run];
  if (sandbox.network.mode === 'gateway') {
    const gwDir = dirname(paths.gatewaySocket);
    mkdirSync(gwDir, { recursive: true, mode: 0o700 });
    helpers.push(gwDir);
    if (existsSync(paths.gatewaySocket)) helpers.push(paths.gatewaySocket);
  }
  for (const d of helpers) chownSync(d, ids.helpers.uid, ids.helpers.gid);
  for (const [target, dir] of Object.entries(rwDirs)) chmodSync(dir, rwDirMode(target)); // /tmp: sticky 1777
  if (bpf) writeFileAtomic(join(run, SECCOMP_BPF), bpf, { mode: 0o600 });
  else rmSync(join(run, SECCOMP_BPF), { force: true });
  if (ids.idmap !== null) writeFileAtomic(join(run, IDMAP_FILE), `${ids.idmap}\n`);
  else rmSync(join(run, IDMAP_FILE), { force: true });
  const spec = buildInitSpec({
    // Without a range, the init checks that Docker started it as exactly these ids.
    sandbox,
    landlock,
    secrets,
    rootDir: '-',
    rwDirs,
    idmap: ids.idmap,
    cgroups: {},
    gatewaySocket: sandbox.network.mode === 'gateway' ? `${IN_GATEWAY}/${paths.gatewaySocket.split('/').pop()}` : null,
  });
  const specPath = join(run, 'spec');
  const fifo = specViaFifo(sb);
  rmSync(specPath, { force: true });
  if (fifo) {
    // No argv holds a value here: only the path. mkfifo(3) has no binding in node:fs.
    execFileSync('mkfifo', ['-m', '600', specPath]);
  } else writeFileAtomic(specPath, spec, { mode: 0o600 });
  chownSync(specPath, ids.helpers.uid, ids.helpers.gid);
  writeFileAtomic(join(run, 'digest'), sb.digest + '\n');

  let container: Docker.Container | undefined;
  try {
    container = await docker().createContainer(containerSpec(ctx.stateDir, sb, image, foreground, { ids, rwDir: disk.rwDir }));
    await container.start();
    if (fifo) await writeSpecToFifo(specPath, spec, container.id, sb.name);
    await waitForReport(ctx.stateDir, sb.name, container.id);
  } catch (e) {
    await container?.remove({ force: true }).catch(() => undefined);
    await unmountDockerDisk(ctx.stateDir, sb.name).catch(() => undefined);
    throw e;
  }
  return container;
}

export const dockerDriver: Driver = {
  kind: 'docker',

  async observe(ctx: DriverContext): Promise<DriverView> {
    let list: Docker.ContainerInfo[];
    try {
      await loadEngine();
      list = await docker().listContainers({ all: true, filters: { label: [`${LABEL_STATE}=${stateLabel(ctx.stateDir)}`] } });
    } catch (e) {
      // Unreachable, EACCES, an engine error: what runs there is unknown, not "nothing".
      return unknownView(`the Docker engine${engineAddress()} cannot be asked what runs: ${errorText(e)}`);
    }
    const out: [string, DriverObservation][] = [];
    for (const c of list) {
      let info: Docker.ContainerInspectInfo;
      try {
        info = await docker().getContainer(c.Id).inspect();
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) continue; // removed since the listing
        return unknownView(`the Docker engine cannot inspect container ${c.Id.slice(0, 12)}: ${errorText(e)}`);
      }
      out.push(await observeOne(ctx.stateDir, info));
    }
    return knownView(out);
  },

  async create(ctx, sb) {
    const [, obs] = await observeOne(ctx.stateDir, await (await launch(ctx, sb, false)).inspect());
    return obs;
  },

  async destroy(ctx, name, id) {
    if (id) {
      await loadEngine();
      try {
        await docker().getContainer(id).remove({ force: true });
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw e;
      }
    }
    for (const f of ['report.json', SECCOMP_BPF, IDMAP_FILE]) rmSync(join(runDir(ctx.stateDir, name), f), { force: true });
    await unmountDockerDisk(ctx.stateDir, name);
  },

  async reload(ctx, sb) {
    // Live parts (egress) are the gateway's; the container only learns its new digest.
    writeFileAtomic(join(runDir(ctx.stateDir, sb.name), 'digest'), sb.digest + '\n');
    const view = await this.observe(ctx);
    if (!view.known) throw new Error(`sandbox ${sb.name}: ${view.reason}`);
    const obs = view.sandboxes.get(sb.name);
    if (!obs) throw new Error(`sandbox ${sb.name}: its container is gone`);
    return obs;
  },
};

export interface ForegroundContainer {
  id: string;
  report: EnforcementReport | null;
  /** Resolves when the agent exited and the container is removed. */
  wait(): Promise<{ code: number; oomKilled: boolean; reason: string }>;
  /** docker stop (SIGTERM, SIGKILL after graceSec). */
  stop(graceSec?: number): Promise<void>;
}

/**
 * `nemoclaw run` for a docker sandbox: the container of `create`, but owned by the caller: its
 * output is streamed to OUT/ERR, Docker never restarts it, and it is removed once the agent exits.
 */
export async function runForeground(
  stateDir: string,
  sb: DesiredSandbox,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<ForegroundContainer> {
  const container = await launch({ stateDir }, sb, true);
  // The engine keeps everything since the start: following the log from its beginning loses nothing.
  const stream = await container.logs({ follow: true, stdout: true, stderr: true });
  docker().modem.demuxStream(stream, out, err);
  const ended = new Promise<void>((r) => {
    stream.on('end', () => r());
    stream.on('error', () => r());
  });
  const exited = (async () => {
    await container.wait();
    await ended;
    const info = await container.inspect();
    await container.remove({ force: true }).catch(() => undefined);
    for (const f of ['report.json', SECCOMP_BPF, IDMAP_FILE]) rmSync(join(runDir(stateDir, sb.name), f), { force: true });
    await unmountDockerDisk(stateDir, sb.name).catch(() => undefined);
    return { code: info.State.ExitCode, oomKilled: info.State.OOMKilled, reason: containerExitReason(info) };
  })();
  return {
    id: container.id,
    report: readReport(stateDir, sb.name),
    wait: () => exited,
    stop: async (graceSec = 5) => {
      await container.stop({ t: graceSec }).catch(() => undefined);
    },
  };
}
