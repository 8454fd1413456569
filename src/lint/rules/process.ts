// Process identity and the system call filter.
import type { SandboxSpec } from '../../generated/config.js';
import { DANGEROUS_SYSCALLS } from '../../compiler/data/dangerous-syscalls.js';
import { isObject, quote, stringItems, type LintContext, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

export function lintProcess(r: Reporter, base: Path, sb: SandboxSpec, ctx: LintContext): void {
  const proc = isObject(sb.process) ? sb.process : undefined;
  if (!proc) return;
  const at = [...base, 'process'];
  if (proc.user === 0 || proc.user === 'root') {
    r.report(
      'user-root',
      [...at, 'user'],
      `user ${JSON.stringify(proc.user)} runs the agent as root (uid 0)`,
      'use user: sandbox (uid 1000) or another non-zero uid',
    );
  }
  if (proc.group === 0) {
    r.report(
      'group-root',
      [...at, 'group'],
      "group 0 gives the agent the root group's access to files mounted from the host",
      'omit group (it defaults to the uid) or use a non-zero gid; suppress with lint.suppress: [group-root]',
    );
  }
  const seccomp = isObject(proc.seccomp) ? proc.seccomp : undefined;
  if (!seccomp) return;
  for (const [i, name] of stringItems(seccomp.allow)) {
    const reason = Object.prototype.hasOwnProperty.call(DANGEROUS_SYSCALLS, name) ? DANGEROUS_SYSCALLS[name] : undefined;
    if (reason !== undefined) {
      r.report(
        'seccomp-dangerous-allow',
        [...at, 'seccomp', 'allow', i],
        `allowing ${name} weakens the sandbox: ${reason}`,
        `remove ${name} from seccomp.allow; if the agent really needs it, it needs a different isolation boundary (e.g. a VM)`,
      );
    }
  }
  if (ctx.knownSyscalls) {
    for (const list of ['allow', 'deny'] as const) {
      for (const [i, name] of stringItems(seccomp[list])) {
        if (!ctx.knownSyscalls.has(name)) {
          r.report(
            'seccomp-unknown-syscall',
            [...at, 'seccomp', list, i],
            `${quote(name)} is not a system call on any supported architecture`,
            "check the spelling against the kernel's syscall table (e.g. openat, not open_at)",
          );
        }
      }
    }
  }
}
