// `nemoclaw connect` for docker sandboxes: `docker exec` into the running container, as the
// sandbox uid, running nemoclaw-init --container-exec so the command gets the agent's Landlock
// ruleset and rlimits (Docker itself applies the container's seccomp.json, capability drop and
// no-new-privileges to exec'd processes, and the init checks a filter is active).
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
import { hostUser, IN_INIT, IN_RUN, runDir } from './docker.js';

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
  // The same host ids as the container's agent (its range's, as root): the init checks them.
  const user = hostUser(stateDir, sandbox);
  const spec = buildInitSpec({
    sandbox: { ...sandbox, user: { ...sandbox.user, uid: user.uid, gid: user.gid } },
    landlock,
    rootDir: '-',
    rwDirs,
    gatewaySocket: null,
    cgroups: {},
    command,
  });
  const file = `connect-${randomBytes(8).toString('hex')}.spec`;
  const hostPath = join(runDir(stateDir, sandbox.name), file);
  writeFileAtomic(hostPath, spec, { mode: 0o600 });
  chownSync(hostPath, user.uid, user.gid);
  const tty = stdio === 'inherit' && process.stdin.isTTY === true;
  const args = ['exec', '-i', ...(tty ? ['-t'] : []), '-u', `${user.uid}:${user.gid}`, containerId];
  const child = spawn('docker', [...args, IN_INIT, '--container-exec', `${IN_RUN}/${file}`], { stdio });
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 125)));
    child.on('error', () => resolve(125));
  }).finally(() => rmSync(hostPath, { force: true }));
  return { exited, child };
}
