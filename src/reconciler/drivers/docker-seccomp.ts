// The seccomp profile Docker loads for a docker sandbox started as root (issue 14, break 4). Pure.
//
// Docker has one userns-remap per daemon, so a container cannot get a user namespace over its
// sandbox's own host id range; the container's init builds it instead (src/init/userns.c): the
// container starts as root with CAP_SETUID/SETGID/SETPCAP only, the agent takes host ids
// BASE+uid and unshares a user namespace, pid 1 writes its maps and drops to BASE+uid. Docker's
// filter is in force for all of that, so it is the agent's profile plus what those steps call:
// the id and capability changes, prctl, Landlock and seccomp(2) itself unconditionally, and
// unshare/setns only with exactly CLONE_NEWUSER (setns with 0 would take any namespace kind).
// The agent (and `nemoclaw connect`) then loads the agent's own profile, compiled to BPF on the
// host, on top: stacked filters answer with the stricter action, so the agent ends with exactly
// its profile, as in the embedded runtime.
import type { SeccompProfile } from '../../compiler/artifacts.js';

type SeccompRule = SeccompProfile['syscalls'][number];

export const CLONE_NEWUSER = 0x10000000;

/** Allowed unconditionally in the container's filter: the init's identity, capability and confinement steps. */
export const INIT_SYSCALLS: readonly string[] = [
  'capget',
  'capset',
  'landlock_add_rule',
  'landlock_create_ruleset',
  'landlock_restrict_self',
  'prctl',
  'seccomp',
  'setfsgid',
  'setfsuid',
  'setgroups',
  'setresgid',
  'setresuid',
];

/** Allowed only with the flag argument equal to CLONE_NEWUSER: unshare(flags), setns(fd, nstype). */
export const USERNS_SYSCALLS: Readonly<Record<string, number>> = { setns: 1, unshare: 0 };

const unconditionalAllow = (r: SeccompRule) => r.action === 'SCMP_ACT_ALLOW' && (r.args ?? []).length === 0;

export function containerSeccompProfile(agent: SeccompProfile): SeccompProfile {
  const already = new Set(agent.syscalls.filter(unconditionalAllow).flatMap((r) => r.names));
  // What the agent may call anyway keeps its wider rule; the rest gets the CLONE_NEWUSER-only rule.
  const userns = Object.keys(USERNS_SYSCALLS).filter((n) => !already.has(n));
  const allow = new Set([...already, ...INIT_SYSCALLS]);
  // Every other rule of a name given a rule here is dropped: libseccomp refuses two actions for
  // one call and argument set, and the names allowed here need no narrower rule in this filter.
  const replaced = new Set([...allow, ...userns]);
  const rules: SeccompRule[] = [{ names: [...allow].sort(), action: 'SCMP_ACT_ALLOW' }];
  for (const r of agent.syscalls) {
    if (unconditionalAllow(r)) continue;
    const names = r.names.filter((n) => !replaced.has(n));
    if (names.length > 0) rules.push({ ...r, names });
  }
  for (const name of userns)
    rules.push({
      names: [name],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: USERNS_SYSCALLS[name]!, value: CLONE_NEWUSER, op: 'SCMP_CMP_EQ' }],
    });
  rules.sort((a, b) => (a.names[0]! < b.names[0]! ? -1 : a.names[0]! > b.names[0]! ? 1 : 0));
  return { ...agent, syscalls: rules };
}
