// Resolves a sandbox's `secrets:` references on the host, in the process that starts the sandbox
// (the daemon's supervisor, `nemoclaw run`, the docker driver), right before the init gets its
// spec. The values live only in that process's memory and the spec pipe: never on disk, in argv,
// in a log or in an error message. Anything missing or unreadable fails the start (closed), and
// the error names the secret and where it was looked for, never a value.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { SandboxArtifact } from '../compiler/artifacts.js';
import { parseSecretRef } from '../compiler/secret-ref.js';
import { UserError } from '../config/diagnostics.js';

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
  for (const [name, ref] of Object.entries(sandbox.secrets ?? {})) {
    const fail = (why: string): never => {
      throw new UserError(`sandbox "${sandbox.name}" cannot start: secret ${name}: ${why}`, [], 1);
    };
    const r = parseSecretRef(ref);
    if (!r) return fail('its reference is not env:HOST_VAR or file:/absolute/path');
    let value: string;
    if (r.kind === 'env') {
      value = env[r.name] ?? fail(`the environment variable ${r.name} is not set in the process that starts the sandbox`);
    } else {
      try {
        value = readSecretFile(r.path).replace(/\r?\n$/, '');
      } catch (e) {
        return fail(`cannot read ${r.path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    if (value === '') fail(r.kind === 'env' ? `the environment variable ${r.name} is empty` : `${r.path} is empty`);
    if (value.includes('\0')) fail('the value contains a NUL byte');
    out[name] = value;
  }
  return out;
}
