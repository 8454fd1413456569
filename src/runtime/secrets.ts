// Resolves a sandbox's `secrets:` references on the host, in the process that starts the sandbox
// (the daemon's supervisor, `nemoclaw run`, the docker driver), right before the init gets its
// spec. The values live only in that process's memory and the spec pipe: never on disk, in argv,
// in a log or in an error message. Anything missing or unreadable fails the start (closed), and
// the error names the secret and where it was looked for, never a value.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { SandboxArtifact } from '../compiler/artifacts.js';
import { parseSecretRef, type SecretRef } from '../compiler/secret-ref.js';
import { UserError } from '../util/errors.js';

/** A secret larger than this is a mistake (a whole directory, a log file), not a credential. */
export const MAX_SECRET_BYTES = 64 * 1024;

function readSecretFile(path: string): string {
  // O_NOFOLLOW is not used: secret stores (Kubernetes, systemd credentials) are symlinks by design.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    if (st.size > MAX_SECRET_BYTES) throw Object.assign(new Error(`larger than ${MAX_SECRET_BYTES} bytes`), { code: 'EFBIG' });
    const buf = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_SECRET_BYTES) throw Object.assign(new Error(`larger than ${MAX_SECRET_BYTES} bytes`), { code: 'EFBIG' });
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Secret name → value for SANDBOX, read from ENV (`env:`) and the file system (`file:`). A file's
 * single trailing newline is dropped (`echo key > file`). Empty counts as missing.
 */
export function resolveSecrets(sandbox: SandboxArtifact, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, ref] of Object.entries(sandbox.secrets ?? {})) {
    const r = parseSecretRef(ref);
    const value = r
      ? readOne(r, problems, name, env)
      : problems.push(`secret ${name}: its reference is not env:HOST_VAR or file:/absolute/path`);
    if (typeof value === 'string') out[name] = value;
  }
  // Every problem at once: fixing one secret at a time, restart after restart, helps nobody.
  if (problems.length) throw new UserError(`sandbox "${sandbox.name}" cannot start:\n  - ${problems.join('\n  - ')}`, [], 1);
  return out;
}

function readOne(r: SecretRef, problems: string[], name: string, env: NodeJS.ProcessEnv): string | undefined {
  const fail = (why: string): undefined => void problems.push(`secret ${name}: ${why}`);
  let value: string | undefined;
  if (r.kind === 'env') {
    value = env[r.name];
    if (value === undefined) return fail(`the environment variable ${r.name} is not set in the process that starts the sandbox`);
  } else {
    try {
      value = readSecretFile(r.path).replace(/\r?\n$/, '');
    } catch (e) {
      return fail(`cannot read ${r.path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (value === '') return fail(r.kind === 'env' ? `the environment variable ${r.name} is empty` : `${r.path} is empty`);
  if (value.includes('\0')) return fail('the value contains a NUL byte');
  return value;
}
