// Compiles a sandbox's `process.seccomp` section into an OCI runtime-spec seccomp profile
// (the seccomp.json artifact). Pure: no I/O, no clock. Docker/runc load the result as is; the
// embedded runtime turns it into BPF on the host (src/runtime/seccomp-bpf.ts).
import { UserError } from '../util/errors.js';
import { CONDITIONAL_RULES, DEFAULT_ALLOW, STRICT_ALLOW, SYSCALLS_BY_ARCH } from './data/syscalls.js';

export type { SeccompArch, SeccompAction, SeccompOp, SeccompArg, SeccompRule, SeccompProfile, SeccompSpec } from './seccomp-profile.js';
import type { SeccompProfile, SeccompRule, SeccompSpec } from './seccomp-profile.js';

const EPERM = 1;
const NAME = /^[a-z0-9_]+$/;

/**
 * Builds the profile: the base's unconditional names plus `allow`, the base's argument-filtered
 * rules, minus every name in `deny` (deny wins over allow: fail closed). A name in `allow` that
 * the base only permits with argument filters (clone, socket, personality) or answers with
 * ENOSYS (clone3) becomes unconditionally allowed: the user asked for exactly that, and the
 * linter reports dangerous or unknown names before compilation.
 *
 * `syscalls` order: by first name, then action, then errnoRet, then the JSON of `args`.
 */
export function compileSeccomp(spec: SeccompSpec): SeccompProfile {
  for (const [field, names] of [
    ['deny', spec.deny],
    ['allow', spec.allow],
  ] as const) {
    const bad = names.find((n) => !NAME.test(n));
    if (bad !== undefined) throw new UserError(`seccomp.${field}: ${JSON.stringify(bad)} is not a system call name`);
  }
  const deny = new Set(spec.deny);
  const allow = new Set(spec.allow);
  const base = spec.base === 'strict' ? STRICT_ALLOW : DEFAULT_ALLOW;

  const unconditional = [...new Set([...base, ...allow])].filter((n) => !deny.has(n)).sort();
  const rules: SeccompRule[] = [];
  if (unconditional.length > 0) rules.push({ names: unconditional, action: 'SCMP_ACT_ALLOW' });
  for (const rule of CONDITIONAL_RULES) {
    const names = rule.names.filter((n) => !deny.has(n) && !allow.has(n)).sort();
    if (names.length === 0) continue;
    const copy: SeccompRule = { names, action: rule.action };
    if (rule.errnoRet !== undefined) copy.errnoRet = rule.errnoRet;
    if (rule.args !== undefined) copy.args = rule.args.map((a) => ({ ...a }));
    rules.push(copy);
  }
  rules.sort(compareRules);

  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'],
    syscalls: rules,
  };
}

function compareRules(a: SeccompRule, b: SeccompRule): number {
  const ka = [a.names[0], a.action, a.errnoRet ?? -1, JSON.stringify(a.args ?? [])] as const;
  const kb = [b.names[0], b.action, b.errnoRet ?? -1, JSON.stringify(b.args ?? [])] as const;
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i]!,
      y = kb[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

let known: ReadonlySet<string> | undefined;

/** Every syscall name of x86_64 or aarch64 (so the linter can flag typos and foreign names). */
export function knownSyscallNames(): ReadonlySet<string> {
  known ??= new Set([...SYSCALLS_BY_ARCH.x86_64, ...SYSCALLS_BY_ARCH.aarch64]);
  return known;
}
