// The shape of seccomp.json (an OCI runtime-spec seccomp profile, generated from
// schemas/seccomp.schema.json) and the config's seccomp section.
// Apart from seccomp.ts so that the syscall tables can name the rule type without a cycle.
export type { SeccompArch, SeccompAction, SeccompOp, SeccompArg, SeccompRule, SeccompProfile } from '../generated/seccomp-artifact.js';

export interface SeccompSpec {
  base: 'default' | 'strict';
  deny: string[];
  allow: string[];
}
