// Shared by the embedded-runtime tests: compile a config to artifacts, and check whether this
// host can run sandboxes at all (locally skip, in CI fail).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { CompiledSandbox } from '../../src/compiler/artifacts.js';
import { loadCompile } from '../../src/pipeline/pipeline.js';
import { probeHost } from '../../src/runtime/process/host.js';
import { requireCapability } from '../helpers/capability.js';

export async function compileYaml(dir: string, yaml: string, name: string): Promise<CompiledSandbox> {
  const file = join(dir, 'nemoclaw.yaml');
  writeFileSync(file, yaml);
  const c = await loadCompile(file, 'update');
  const s = c.output.sandboxes.find((x) => x.name === name);
  if (!s) throw new Error(`no sandbox ${name}`);
  return s;
}

/** True when the embedded runtime can enforce a default policy here; otherwise skips (fails in CI). */
export async function requireProcessRuntime(t: TestContext): Promise<boolean> {
  const h = await probeHost();
  const k = h.kernel;
  const ok = !!k && k.landlock_abi >= 4 && k.seccomp && h.libseccomp.ok && k.mntns && k.pidns && k.netns && (k.root || k.userns);
  return requireCapability(t, ok, `embedded runtime unavailable: ${h.probeError ?? JSON.stringify(k)}; libseccomp ${h.libseccomp.ok}`);
}

/** A minimal policy that can run /bin/sh and coreutils. */
export const BASE_YAML = (name: string, extra = '') => `version: 1
sandboxes:
  ${name}:
    runtime: process
    command: [/bin/sh, -c, 'exit 0']
    workdir: /sandbox
    filesystem:
      read_only: [/usr, /bin, /lib, /lib64]
      read_write: [/tmp]
    process:
      limits: { pids: 64, nofile: 256 }
${extra}`;
