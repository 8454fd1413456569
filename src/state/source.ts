// What a state directory follows and how the last reconcile went: the source record (one per
// state directory: a config file, or a git source with its trust anchor), the reconcile status
// (a Flux-style condition, fetched/applied commits, a generation) and sandbox data kept aside
// after a delete. Plain JSON files, written atomically.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface GitSource {
  kind: 'git';
  url: string;
  ref: string;
  /** Config file inside the repository. */
  path: string;
  /** Host-side trust anchors (absolute paths); never read from the repository. */
  allowed_signers: string | null;
  gpg_keyring: string | null;
  /** false only when --no-verify was given; every output then says "unverified". */
  verify: boolean;
  /**
   * `key:/abs/pub.pem` or `identity:ID@ISSUER` (with trusted_root): the head commit must also carry
   * a Sigstore statement over its blueprint digests (nemoclaw sign) that this host recompiles and
   * checks. Absent in records written before the option existed: none required.
   */
  require_signature?: { spec: string; trusted_root: string | null } | null;
  notify: string | null;
  settle_ms: number;
  /**
   * How long data kept from deleted sandboxes stays before a tick removes it (--retention);
   * null or absent: off, kept until `nemoclaw destroy --purge`.
   */
  retention_ms?: number | null;
}

export interface FileSource {
  kind: 'file';
  /** Absolute path of the config file. */
  path: string;
}

export type Source = GitSource | FileSource;

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type ConditionReason =
  | 'Succeeded'
  | 'Progressing'
  | 'FetchFailed'
  | 'VerificationFailed'
  | 'SignatureMissing'
  | 'SignatureInvalid'
  | 'RewindRefused'
  | 'CompileFailed'
  | 'ApplyFailed'
  | 'HealthCheckFailed'
  | 'WaitingForHuman'
  | 'Suspended';

/** Flux-style: one Ready condition with a machine reason and a human message. */
export interface Condition {
  type: 'Ready';
  status: ConditionStatus;
  reason: ConditionReason;
  message: string;
  last_transition: string;
}

export interface ReconcileStatus {
  format_version: 1;
  fetched_commit: string | null;
  applied_commit: string | null;
  /** Signer of the applied commit: "alice@example.com SHA256:…", or "unverified". */
  verified_by: string | null;
  suspended: { reason: string | null; since: string } | null;
  last_attempt: string | null;
  next_attempt: string | null;
  /** Consecutive failed ticks (drives the backoff). */
  failures: number;
  /** Generation the last successful apply recorded. */
  generation: number | null;
  /** Wall time of the last tick in this process (absent in records written before it was kept). */
  last_duration_ms?: number | null;
  /** Kept data the retention setting removed, newest first (the last 20). */
  removed_kept_data?: RemovedKeptData[];
  condition: Condition;
}

export interface RemovedKeptData {
  sandbox: string;
  deleted_at: string;
  removed_at: string;
  bytes: number;
}

export interface SourcePaths {
  sourceFile: string;
  statusFile: string;
  /** The last commit that passed verification, under a key of everything the answer depends on. */
  verifiedFile: string;
  /** Bare mirror the loop fetches into; never a user's working tree. */
  mirror: string;
  /** Worktree of the mirror, checked out at a verified commit only. */
  tree: string;
  /** Private GNUPGHOME holding only the --gpg-keyring keys. */
  gnupgHome: string;
  /** Persistent data of deleted sandboxes: retained/<name>.<time>/. */
  retainedDir: string;
}

export function sourcePaths(root: string): SourcePaths {
  return {
    sourceFile: join(root, 'source.json'),
    statusFile: join(root, 'reconcile', 'status.json'),
    verifiedFile: join(root, 'reconcile', 'verified.json'),
    mirror: join(root, 'reconcile', 'mirror.git'),
    tree: join(root, 'reconcile', 'tree'),
    gnupgHome: join(root, 'reconcile', 'gnupg'),
    retainedDir: join(root, 'retained'),
  };
}

function readJson<T>(path: string, what: string): T | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`cannot read ${what} ${path}: ${(e as Error).message}`, [], 1);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`${what} ${path} is not valid JSON; restore it or remove it by hand`, [], 1);
  }
}

export function readSource(root: string): Source | null {
  return readJson<Source>(sourcePaths(root).sourceFile, 'source record');
}

export function writeSource(root: string, s: Source): void {
  writeFileAtomic(sourcePaths(root).sourceFile, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

/** Two records name the same source when they follow the same file, or the same repository file. */
export function sameSource(a: Source, b: Source): boolean {
  if (a.kind === 'file' && b.kind === 'file') return a.path === b.path;
  if (a.kind === 'git' && b.kind === 'git') return a.url === b.url && a.ref === b.ref && a.path === b.path;
  return false;
}

/** A URL (or a message quoting one) as logs and status may show it: `//user:token@` becomes `//***@`. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/[^/@\s'"]*@/g, '//***@');
}

export function describeSource(s: Source): string {
  return s.kind === 'file' ? s.path : `${redactUrl(s.url)} (ref ${s.ref}, ${s.path})`;
}

export const INITIAL_STATUS: ReconcileStatus = {
  format_version: 1,
  fetched_commit: null,
  applied_commit: null,
  verified_by: null,
  suspended: null,
  last_attempt: null,
  next_attempt: null,
  failures: 0,
  generation: null,
  condition: { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'not reconciled yet', last_transition: '' },
};

export function readReconcileStatus(root: string): ReconcileStatus | null {
  return readJson<ReconcileStatus>(sourcePaths(root).statusFile, 'reconcile status');
}

export function writeReconcileStatus(root: string, s: ReconcileStatus): void {
  writeFileAtomic(sourcePaths(root).statusFile, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

export interface RetainedData {
  sandbox: string;
  path: string;
  deleted_at: string;
  bytes: number;
}

function duBytes(path: string): number {
  let n = 0;
  const walk = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const c of readdirSync(p)) walk(join(p, c));
    else n += st.size;
  };
  walk(path);
  return n;
}

/** Data kept from deleted sandboxes, oldest first. Directory names are <sandbox>.<ISO time without colons>. */
export function listRetained(root: string): RetainedData[] {
  const dir = sourcePaths(root).retainedDir;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((d) => /^(.+)\.(\d{8}T\d{6}Z)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      sandbox: m[1]!,
      path: join(dir, m[0]),
      deleted_at: `${m[2]!.slice(0, 4)}-${m[2]!.slice(4, 6)}-${m[2]!.slice(6, 8)}T${m[2]!.slice(9, 11)}:${m[2]!.slice(11, 13)}:${m[2]!.slice(13, 15)}Z`,
      bytes: duBytes(join(dir, m[0])),
    }))
    .sort((a, b) => a.deleted_at.localeCompare(b.deleted_at));
}

/** retained/<name>.<compact UTC time>: where a deleted sandbox's directory is moved. */
export function retainedPathFor(root: string, name: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  return join(sourcePaths(root).retainedDir, `${name}.${stamp}`);
}
