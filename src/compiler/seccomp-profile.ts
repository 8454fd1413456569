// The shape of seccomp.json: an OCI runtime-spec seccomp profile, and the config's seccomp section.
// Apart from seccomp.ts so that the syscall tables can name the rule type without a cycle.
export type SeccompArch = 'SCMP_ARCH_X86_64' | 'SCMP_ARCH_AARCH64';
export type SeccompAction =
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_LOG';
export type SeccompOp =
  'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

/** One argument comparison. For MASKED_EQ, `value` is the mask and `valueTwo` the expected
 *  result of `arg & mask` (runc's and libseccomp's convention). */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  /** Only with SCMP_ACT_ERRNO; EPERM when absent. */
  errnoRet?: number;
  /** ANDed; each index at most once per rule. */
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: SeccompArch[];
  syscalls: SeccompRule[];
}

export interface SeccompSpec {
  base: 'default' | 'strict';
  deny: string[];
  allow: string[];
}
