// `nemoclaw connect` for docker sandboxes: `docker exec` into the running container, running
// nemoclaw-init --container-exec so the command gets the agent's Landlock ruleset and rlimits
// (Docker itself applies the container's seccomp profile, capability drop and no-new-privileges
// to exec'd processes, and the init checks a filter is active). A container started with a host
// id range (as root) is entered as root (-u 0:0): the init takes the agent's host ids, enters
// the agent's user namespace (uid 1000 inside, as the agent) and stacks the agent's own filter
// (the run directory's seccomp.bpf, the very one the agent loaded) on Docker's wider one.
// The docker CLI, not dockerode: with a terminal, `docker exec -t` already handles raw mode,
// window size and the pty; dockerode would need all of that re-written here.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledSandbox } from '../../compiler/artifacts.js';
import { buildInitSpec } from '../../init-protocol/spec.js';
import { sandboxPaths } from '../../state/sandbox-layout.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { IN_INIT, IN_RUN, runDir, runningIdmap, SECCOMP_BPF } from './docker.js';

export async function connectContainer(
  stateDir: string,
  sb: CompiledSandbox,
  containerId: string,
  command: string[],
  stdio: 'inherit' | 'pipe' = 'inherit',
): Promise<{ exited: Promise<number>; child: ReturnType<typeof spawn> }> {
  const { sandbox, landlock } = sb.artifacts;
  const paths = sandboxPaths(stateDir, sandbox.name);
  const rwDirs = Object.fromEntries(sandbox.mounts.filter((m) => m.mode === 'rw').map((m) => [m.target, paths.rwDir(m.target)]));
  // Without secrets (connect never gets more than the agent), so it may rest in the run directory,
  // which the agent's Landlock rules do not cover: the agent can neither read nor replace it.
  // The idmap the running container was started with: its agent's user namespace is joined.
  // Without one, docker exec runs as the agent's ids and the init checks them.
  const idmap = runningIdmap(stateDir, sandbox.name);
  const spec = buildInitSpec({
    sandbox,
    landlock,
    rootDir: '-',
    rwDirs,
    idmap,
    gatewaySocket: null,
    cgroups: {},
    command,
  });
  const file = `connect-${randomBytes(8).toString('hex')}.spec`;
  const hostPath = join(runDir(stateDir, sandbox.name), file);
  writeFileAtomic(hostPath, spec, { mode: 0o600 });
  const user = idmap === null ? sandbox.user : { uid: 0, gid: 0 };
  chownSync(hostPath, user.uid, user.gid);
  const tty = stdio === 'inherit' && process.stdin.isTTY === true;
  const args = ['exec', '-i', ...(tty ? ['-t'] : []), '-u', `${user.uid}:${user.gid}`, containerId];
  const initArgs = ['--container-exec', `${IN_RUN}/${file}`, ...(idmap === null ? [] : [`${IN_RUN}/${SECCOMP_BPF}`])];
  const child = spawn('docker', [...args, IN_INIT, ...initArgs], { stdio });
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 125)));
    child.on('error', () => resolve(125));
  }).finally(() => rmSync(hostPath, { force: true }));
  return { exited, child };
}
