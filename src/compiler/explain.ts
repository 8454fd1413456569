// Plain-language description of what one compiled sandbox may do. Used by `explain` and by the
// plan's semantic summary, so reviewers read the same words in both.
import type { CompiledSandbox, EgressEndpoint, InferenceRoute } from './artifacts.js';
import { redactSecrets } from './redact.js';

export interface Capabilities {
  read: string[];
  write: string[];
  execute: string[];
  reach: string[];
  syscalls: { base: string; allowed: number; added: string[]; removed: string[] };
  user: string;
  limits: string;
  inference: string | null;
  on_deny: string;
  /** Secret names the agent finds in its environment, with where the host reads each (never the value). */
  secrets: string[];
  /** Ports the agent may listen on, on the sandbox's own loopback. */
  listen: number[];
  /** Host addresses that reach a sandbox port: "127.0.0.1:18789 → sandbox port 18789". */
  published: string[];
}

/** One published port in the words explain, plan and status share. */
export function publishedText(p: { host_address: string; host_port: number; sandbox_port: number }): string {
  const host = p.host_address.includes(':') ? `[${p.host_address}]` : p.host_address;
  return `${host}:${p.host_port} → sandbox port ${p.sandbox_port}`;
}

export function endpointText(e: EgressEndpoint): string {
  const host = e.wildcard ? `any subdomain of ${e.host}` : e.host;
  const what = e.methods ? e.methods.join('/') : e.protocol === 'https' ? 'HTTPS' : 'HTTP (any method)';
  const where = e.paths ? ` on ${e.paths.join(', ')}` : '';
  return `${what} to ${host}:${e.port}${where}`;
}

export function capabilities(c: CompiledSandbox, seccompSpec?: { base: string; allow: string[]; deny: string[] }): Capabilities {
  const { sandbox, landlock, egress, seccomp } = c.artifacts;
  // /dev (a few device nodes) and /proc (the sandbox's own) are in every sandbox; list what the config grants.
  const has = (r: string) =>
    landlock.path_rules.filter((p) => p.path !== '/dev' && p.path !== '/proc' && (p.access as string[]).includes(r)).map((p) => p.path);
  const allowedNames = new Set(seccomp.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
  const reach = egress.rules.flatMap((r) => r.endpoints.map((e) => `${endpointText(e)}  (${r.name})`));
  const l = sandbox.limits;
  return {
    read: has('read_file'),
    write: has('write_file'),
    execute: has('execute'),
    reach,
    syscalls: {
      base: seccompSpec?.base ?? 'default',
      allowed: allowedNames.size,
      added: seccompSpec?.allow ?? [],
      removed: seccompSpec?.deny ?? [],
    },
    user: `uid ${sandbox.user.uid}, gid ${sandbox.user.gid}`,
    limits: `${l.pids} processes, ${formatBytes(l.memory_bytes)} memory, ${l.nofile} open files`,
    inference: egress.inference ? inferenceText(egress.inference) : null,
    on_deny: egress.on_deny === 'ask' ? 'other requests are refused and queued for approval' : 'other requests are refused',
    secrets: Object.entries(sandbox.secrets ?? {}).map(([name, ref]) => `${name} (from ${ref})`),
    listen: landlock.net_rules.filter((r) => r.access.includes('bind_tcp')).map((r) => r.port),
    published: (egress.ports ?? []).map(publishedText),
  };
}

export function explainText(c: CompiledSandbox, seccompSpec?: { base: string; allow: string[]; deny: string[] }): string {
  const k = capabilities(c, seccompSpec);
  const { sandbox, landlock } = c.artifacts;
  const list = (xs: string[]) => (xs.length ? xs.map((x) => `    - ${x}`).join('\n') : '    (nothing)');
  const floor =
    landlock.compatibility === 'best_effort'
      ? 'best effort: starts even if the kernel cannot enforce Landlock (reported in status)'
      : `required: refuses to start below Landlock ABI ${landlock.abi_floor}`;
  const text = [
    `Sandbox ${c.name} (${sandbox.runtime} runtime${sandbox.image ? `, image ${sandbox.image}` : ''}), blueprint digest ${c.digest}`,
    `  Runs ${JSON.stringify(sandbox.command)} in ${sandbox.workdir} as ${k.user}.`,
    `  May read:`,
    list(k.read),
    `  May write (persisted under the state directory):`,
    list(k.write),
    `  May execute files from:`,
    list(k.execute),
    `  May reach over the network:`,
    list(k.reach.length ? k.reach : []),
    `    ${k.reach.length ? k.on_deny : 'no network at all: the sandbox has only loopback'}.`,
    `  May listen on (its own loopback only): ${k.listen.length ? k.listen.join(', ') : 'no port'}.`,
    `  Published on the host (relayed by nemoclaw, each connection audited):`,
    list(k.published),
    `  May call ${k.syscalls.allowed} system calls (base ${k.syscalls.base}` +
      `${k.syscalls.added.length ? `, plus ${k.syscalls.added.join(', ')}` : ''}` +
      `${k.syscalls.removed.length ? `, minus ${k.syscalls.removed.join(', ')}` : ''}); all others fail with EPERM.`,
    `  Model calls: ${k.inference ?? 'none configured'}.`,
    `  Limits: ${k.limits}.`,
    `  Landlock: ${floor}.`,
    `  Environment: ${Object.keys(sandbox.env).length ? Object.keys(sandbox.env).join(', ') : '(empty)'}${sandbox.network.mode === 'gateway' ? ', plus HTTP(S)_PROXY, NO_PROXY and NODE_USE_ENV_PROXY for the gateway' : ''}.`,
    `  Secrets the agent can read in its environment: ${k.secrets.length ? `${k.secrets.join(', ')}; read on the host at each start, never stored` : 'none'}.`,
    '',
  ].join('\n');
  return redactSecrets(text); // a command line may carry a token
}

/** What the router lets the sandbox call; the same words in explain and in the plan summary. */
export function inferenceText(r: InferenceRoute): string {
  const def = r.providers[r.provider];
  const others = Object.keys(r.providers).filter((p) => p !== r.provider);
  const aliases = Object.entries(r.aliases).map(([a, t]) => `${a} → ${t.provider}/${t.model}`);
  const limits = [
    r.limits.requests_per_minute !== null ? `${r.limits.requests_per_minute} calls/min` : '',
    r.limits.concurrent !== null ? `${r.limits.concurrent} at once` : '',
    r.limits.tokens_per_day !== null ? `${r.limits.tokens_per_day} tokens/day` : '',
  ].filter(Boolean);
  return [
    `${r.provider} (${def ? `${def.model} via ${def.endpoint}` : '?'})`,
    ...(others.length ? [`also ${others.join(', ')}`] : []),
    ...(aliases.length ? [`aliases ${aliases.join(', ')}`] : []),
    ...(r.fallback.length ? [`fallback ${r.fallback.join(' → ')}`] : []),
    ...(r.local_only ? ['local providers only'] : []),
    ...(limits.length ? [`limits ${limits.join(', ')}`] : []),
    ...(r.capture === 'full' ? ['CAPTURE ON: prompts and responses are written to <state>/gateway/inference-capture.jsonl'] : []),
    'through the router on the proxy port (OPENAI_BASE_URL, ANTHROPIC_BASE_URL); the router adds the credential, the agent holds only a placeholder key',
  ].join('; ');
}

function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}
