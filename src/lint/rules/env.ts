// The agent's environment: nemoclaw owns the proxy variables, the dynamic loader's variables
// would let a writable directory inject code into every process, and secrets do not belong here.
import type { SandboxSpec } from '../../generated/config.js';
import { isSecretName } from '../../compiler/redact.js';
import { parseSecretRef } from '../../compiler/secret-ref.js';
import { objectEntries, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

/** Set by the runtime to route traffic through the gateway (upper and lower case are both read by clients). */
const PROXY_VARS = new Set(['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy']);
const LOADER_VARS = new Set(['LD_PRELOAD', 'LD_AUDIT', 'LD_LIBRARY_PATH']);

export function lintEnv(r: Reporter, base: Path, sb: SandboxSpec): void {
  for (const [name, value] of objectEntries(sb.env)) {
    const at = [...base, 'env', name];
    if (PROXY_VARS.has(name.toLowerCase())) {
      r.report(
        'env-reserved',
        at,
        `${name} is set by nemoclaw to route traffic through the egress gateway; it cannot be overridden`,
        "remove it: the runtime points the proxy variables at the sandbox's gateway bridge",
        { key: true },
      );
    } else if (LOADER_VARS.has(name)) {
      r.report(
        'env-dangerous',
        at,
        `${name} makes the dynamic loader load code chosen by the environment into every program in the sandbox`,
        "remove it; install libraries into a read_only path and let the agent's own launcher set its search path",
        { key: true },
      );
    } else if (isSecretName(name) && typeof value === 'string' && value !== '') {
      r.report(
        'env-secret-name',
        at,
        `${name} is named like a secret but its value is written in the file as plain text`,
        `move it to secrets: (${name}: env:HOST_VAR or file:/path), resolved on the host at start and never stored; model credentials go in inference.providers (credential: env:NAME); if the value is not secret, suppress with lint.suppress: [env-secret-name]`,
        { key: true },
      );
    }
  }
  lintSecretRefs(r, base, sb);
}

/** `secrets:`: each value must be a reference, and a name must not also be an env or a variable nemoclaw owns. */
function lintSecretRefs(r: Reporter, base: Path, sb: SandboxSpec): void {
  const env = new Set(objectEntries(sb.env).map(([n]) => n));
  for (const [name, ref] of objectEntries(sb.secrets)) {
    const at = [...base, 'secrets', name];
    if (typeof ref !== 'string' || !parseSecretRef(ref)) {
      // Never echo the value: it may be the secret itself.
      r.report(
        'secret-reference',
        at,
        `secret ${name} is not a reference of the form env:HOST_VAR or file:/absolute/path`,
        `write ${name}: env:HOST_VAR (read from the environment of the host process that starts the sandbox) or ${name}: file:/etc/nemoclaw/secrets/${name.toLowerCase()}; never the value itself`,
      );
    }
    if (env.has(name) || PROXY_VARS.has(name.toLowerCase()) || LOADER_VARS.has(name)) {
      r.report(
        'secret-name-conflict',
        at,
        env.has(name)
          ? `${name} is both in env and in secrets; the agent's environment can hold only one of them`
          : `${name} is set by nemoclaw itself or controls the dynamic loader; it cannot be a secret`,
        env.has(name) ? `remove ${name} from env` : 'choose another name',
        { key: true },
      );
    }
  }
}
