// The one list of diagnostic ids nemoclaw reports. docs/lint-rules.md, the SARIF rule table and
// `lint.suppress` validation are all derived from it, so an id cannot exist in one and not the others.
import type { Severity } from '../config/diagnostics.js';

/** Which step reports the rule: loading the YAML, the JSON Schema, or the semantic linter. */
export type RuleStage = 'load' | 'schema' | 'lint';

export interface RuleMeta {
  readonly severity: Severity;
  /** One sentence; the SARIF shortDescription and the docs table both use it. */
  readonly summary: string;
  readonly stage: RuleStage;
}

const lint = (severity: Severity, summary: string): RuleMeta => ({ severity, summary, stage: 'lint' });

export const RULES = {
  // Reported by src/config/load.ts and src/config/validate.ts; listed here so docs and SARIF know them.
  'file-too-large': { severity: 'error', stage: 'load', summary: 'The file is larger than 1 MiB.' },
  'yaml-syntax': { severity: 'error', stage: 'load', summary: 'The file is not valid YAML.' },
  'yaml-duplicate-key': { severity: 'error', stage: 'load', summary: 'A mapping repeats a key; the later value would silently win.' },
  'yaml-alias-limit': { severity: 'error', stage: 'load', summary: 'Too many YAML alias expansions.' },
  schema: { severity: 'error', stage: 'schema', summary: 'The file does not match schemas/nemoclaw.schema.json.' },

  // Filesystem
  'path-relative': lint('error', 'A filesystem path or workdir is not absolute, or has `.`/`..` segments.'),
  'path-system-writable': lint('error', '`/` or a system directory (or a path containing one) is writable.'),
  'path-conflict': lint('error', 'A path is listed in both read_only and read_write.'),
  'read-only-host-sockets': lint(
    'warning',
    'A read_only path is, contains or lies in a directory of host unix sockets (/run, /var/run, /tmp/.X11-unix...).',
  ),
  'mount-under-writable': lint('warning', 'A read_only or read_write path lies inside another read_write path or the workdir.'),
  'executable-not-granted': lint('error', 'An executable path is not under a read_write or read_only path.'),
  'landlock-best-effort': lint('warning', '`landlock: best_effort` lets the sandbox start without full Landlock enforcement.'),

  // Egress hosts and endpoints
  'host-wildcard-too-broad': lint('error', 'A host is `*` or a wildcard over a public suffix such as `*.com` or `*.co.uk`.'),
  'host-wildcard-position': lint('error', 'A wildcard is not the whole leftmost label (`a.*.com`, `api*.x.com`).'),
  'host-ip-literal': lint('error', 'A host is an IP address; name the host and use allowed_ips for internal ranges.'),
  'host-invalid': lint('error', 'A host is not a valid DNS name.'),
  'port-range': lint('error', 'A port is outside 1–65535.'),
  'https-method-path-filter': lint('error', 'An https endpoint has methods or paths, but the gateway matches HTTPS only by host and port.'),
  'egress-rule-duplicate-name': lint('error', 'Two egress rules of a sandbox have the same name.'),
  'endpoint-duplicate': lint('warning', 'An endpoint repeats another endpoint of the same sandbox.'),
  'endpoint-shadowed': lint('warning', 'An endpoint is already allowed by a broader endpoint of the same sandbox.'),
  'egress-binaries': lint('error', '`binaries` is not enforced by this gateway version.'),

  // Ports into the sandbox
  'port-host-invalid': lint('error', "A published port's host is not ADDRESS:PORT."),
  'port-published-beyond-loopback': lint('warning', 'A port is published on a host address other than loopback.'),
  'port-not-listened': lint('error', 'A published sandbox port is not in network.listen, so the agent cannot bind it.'),
  'port-published-twice': lint('error', 'Two published ports (of any sandboxes) use the same host port.'),

  // allowed_ips
  'allowed-ips-invalid': lint('error', 'An allowed_ips entry is not a valid CIDR.'),
  'allowed-ips-forbidden': lint(
    'error',
    'An allowed_ips entry covers loopback, link-local, unspecified, multicast, broadcast or cloud metadata addresses (also through IPv4 embedded in IPv6).',
  ),
  'allowed-ips-private': lint(
    'warning',
    'An allowed_ips entry opens an internal range (RFC 1918, CGNAT, IPv6 ULA or another not globally reachable block).',
  ),

  // Secrets and environment
  'secret-in-config': lint('error', 'A value, key or comment looks like a credential; reference it with env:NAME or file:PATH instead.'),
  'credential-format': lint('error', 'A provider credential is not `env:NAME` or `file:/absolute/path`.'),
  'env-reserved': lint('error', 'The env sets a proxy variable that nemoclaw sets itself.'),
  'env-dangerous': lint('error', 'The env sets a dynamic-loader variable (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH).'),
  'env-secret-name': lint('warning', 'An env variable is named like a secret but holds a literal value.'),
  'secret-reference': lint('error', 'A `secrets:` entry is not `env:HOST_VAR` or `file:/absolute/path`.'),
  'secret-name-conflict': lint('error', 'A `secrets:` name is also in env, or is a variable nemoclaw sets (proxy) or forbids (loader).'),

  // Process
  'user-root': lint('error', 'The agent runs as root (`user: 0` or `user: root`).'),
  'group-root': lint('warning', 'The agent runs with group 0 (root).'),
  'seccomp-dangerous-allow': lint('error', '`seccomp.allow` adds a dangerous system call.'),
  'seccomp-unknown-syscall': lint('error', '`seccomp.allow` or `seccomp.deny` names an unknown system call.'),

  // Runtime and image
  'docker-image-missing': lint('error', 'A docker sandbox has no image.'),
  'image-not-pinned': lint(
    'error',
    "An image (docker, or a process sandbox's root) has no `@sha256:` digest and is not pinned by nemoclaw.lock.",
  ),
  'preset-unknown': lint('error', 'A network preset does not exist.'),
  'blueprint-unknown': lint('error', 'A blueprint does not exist.'),

  // Inference
  'inference-provider-unknown': lint('error', 'A sandbox selects an inference provider that is not defined.'),
  'provider-endpoint-insecure': lint('warning', 'A provider endpoint is not https.'),
  'provider-credential-missing': lint('warning', 'A provider has no credential.'),
  'inference-provider-not-allowed': lint(
    'error',
    'A model alias or fallback names a provider the sandbox may not use (not its provider or in its providers).',
  ),
  'inference-not-local': lint('warning', 'A local_only sandbox may use a provider that is not local; calls routed to it are refused.'),

  // Suppression
  'lint-suppress-error': lint('error', '`lint.suppress` lists an error rule; only warnings can be suppressed.'),
  'lint-suppress-unknown': lint('warning', '`lint.suppress` lists an id that is not a rule.'),
} as const satisfies Record<string, RuleMeta>;

export type RuleId = keyof typeof RULES;

export function isRuleId(id: string): id is RuleId {
  return Object.prototype.hasOwnProperty.call(RULES, id);
}
