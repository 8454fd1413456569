// Does what the init reported enforcing meet what the blueprint requires? Used by apply's
// verification and by status. Pure; an empty list means "at least as strong as required".
import type { LandlockArtifact, SandboxArtifact } from '../compiler/artifacts.js';
import type { EnforcementReport } from '../init-protocol/report.js';

export function enforcementGaps(
  bp: { sandbox: SandboxArtifact; landlock: LandlockArtifact },
  report: EnforcementReport | null,
  seccompDigest: string | null,
): string[] {
  if (!report) return ['the init has not reported any enforcement'];
  const gaps: string[] = [];
  const ll = bp.landlock;
  if (!report.landlock.enforced) {
    if (ll.compatibility === 'hard_requirement') gaps.push('Landlock is not enforced');
  } else if (report.landlock.abi < ll.abi_floor) {
    gaps.push(`Landlock ABI ${report.landlock.abi} is below the required ${ll.abi_floor}`);
  }
  if (report.landlock.enforced && report.landlock.path_rules + report.landlock.skipped_rules < ll.path_rules.length) {
    gaps.push(`Landlock has ${report.landlock.path_rules} path rules, the blueprint has ${ll.path_rules.length}`);
  }
  if (
    seccompDigest &&
    report.seccomp.sha256 !== seccompDigest.replace(/^sha256:/, '') &&
    `sha256:${report.seccomp.sha256}` !== seccompDigest
  ) {
    gaps.push('the seccomp filter the init loaded is not the one compiled from seccomp.json');
  }
  if (!report.no_new_privs) gaps.push('no_new_privs is not set');
  if (report.capabilities !== 'none') gaps.push('capabilities were not dropped');
  if (report.uid !== bp.sandbox.user.uid || report.gid !== bp.sandbox.user.gid) {
    gaps.push(`runs as uid ${report.uid}/gid ${report.gid}, the blueprint says ${bp.sandbox.user.uid}/${bp.sandbox.user.gid}`);
  }
  if (!report.namespaces.includes('net')) gaps.push('no network namespace');
  if (bp.sandbox.network.mode === 'gateway' && !report.network.relay) gaps.push('the gateway relay is not running');
  return gaps;
}
