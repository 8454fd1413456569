// The agent's environment: nemoclaw owns the proxy variables, the dynamic loader's variables
// would let a writable directory inject code into every process, and secrets do not belong here.
import type { SandboxSpec } from '../../generated/config.js';
import { objectEntries, type Reporter } from '../report.js';

type Path = readonly (string | number)[];

/** Set by the runtime to route traffic through the gateway (upper and lower case are both read by clients). */
const PROXY_VARS = new Set(['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy']);
const LOADER_VARS = new Set(['LD_PRELOAD', 'LD_AUDIT', 'LD_LIBRARY_PATH']);
/** Names that conventionally hold a credential. `_FILE`/`_PATH` variants hold a location instead. */
const SECRET_NAME = /(^|_)(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|ACCESS_KEY)($|_)/i;
const LOCATION_SUFFIX = /_(FILE|PATH|DIR|URL|ENDPOINT|HOST)$/i;

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
    } else if (SECRET_NAME.test(name) && !LOCATION_SUFFIX.test(name) && typeof value === 'string' && value !== '') {
      r.report(
        'env-secret-name',
        at,
        `${name} is named like a secret but its value is written in the file as plain text`,
        'pass model credentials through inference.providers (credential: env:NAME); if the value is not secret, suppress with lint.suppress: [env-secret-name]',
        { key: true },
      );
    }
  }
}
