// Compiled seccomp filters, kept in the state directory by profile. Compiling one loads koffi
// and libseccomp and runs a few hundred library calls (~20 ms of every `run` and start); the
// same profile on the same architecture always gives a filter that enforces the same thing, so a
// start whose profile was compiled before reads the BPF instead.
//
// The file is trusted as much as the rest of the state directory (which holds the policies
// themselves): it is made 0600 in a 0700 directory, read without following links, and used only
// if its digest matches the one it was written with. Its name is the sha256 of the profile's canonical JSON
// and the architecture, so a changed profile never finds an old filter.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../compiler/canonical.js';
import type { SeccompProfile } from '../compiler/seccomp.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { sha256Hex } from '../util/sha256.js';
import { compileSeccompBpf, type SeccompBpf } from './seccomp-bpf.js';

const MAGIC = 'nemoclaw-seccomp-bpf v1';

export function seccompCacheFile(stateDir: string, profile: SeccompProfile): string {
  return join(stateDir, 'cache', 'seccomp', `${sha256Hex(`${process.arch}\0${canonicalJson(profile)}`)}.bpf`);
}

/** The filter compiled before for PROFILE, or null when there is none (or it is not well formed). */
export function readCachedBpf(stateDir: string, profile: SeccompProfile): SeccompBpf | null {
  let fd: number | undefined;
  try {
    fd = openSync(seccompCacheFile(stateDir, profile), constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o077) !== 0) return null;
    const data = readFileSync(fd);
    const nl = data.indexOf(10);
    if (nl < 0) return null;
    const [magic, version, rules, digest] = data.subarray(0, nl).toString('latin1').split(' ');
    const ruleCount = Number(rules);
    const bpf = Buffer.from(data.subarray(nl + 1));
    const actual = 'sha256:' + sha256Hex(bpf);
    if (`${magic} ${version}` !== MAGIC || !Number.isSafeInteger(ruleCount) || ruleCount < 0 || digest !== actual) return null;
    if (bpf.length === 0 || bpf.length % 8 !== 0) return null;
    return { bpf, ruleCount, digest: actual };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * PROFILE's filter for this host: from the cache, else compiled (fail closed: throws as
 * compileSeccompBpf does) and kept for the next start. A cache that cannot be written only
 * costs the next start its compile time.
 */
export function seccompBpfFor(stateDir: string, profile: SeccompProfile): SeccompBpf & { cached: boolean } {
  const hit = readCachedBpf(stateDir, profile);
  if (hit) return { ...hit, cached: true };
  const compiled = compileSeccompBpf(profile);
  try {
    mkdirSync(join(stateDir, 'cache'), { recursive: true, mode: 0o700 });
    mkdirSync(join(stateDir, 'cache', 'seccomp'), { recursive: true, mode: 0o700 });
    const head = Buffer.from(`${MAGIC} ${compiled.ruleCount} ${compiled.digest}\n`, 'latin1');
    writeFileAtomic(seccompCacheFile(stateDir, profile), Buffer.concat([head, compiled.bpf]), { mode: 0o600 });
  } catch {
    /* see above */
  }
  return { ...compiled, cached: false };
}
