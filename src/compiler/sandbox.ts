// sandbox.json: what the runtime starts, with numeric identity and no secrets.
import type { Mount, SandboxArtifact } from './artifacts.js';
import { normalizePath, parseSize } from './hosts.js';
import { CompileError } from './inputs.js';
import type { ResolvedSandbox } from './resolve.js';
import { parseSecretRef } from './secret-ref.js';

/** Inside the sandbox the agent reaches the gateway through this port (never one of its network.listen ports). */
export const PROXY_PORT = 3128;
/** The API key the agent's SDKs see: not a secret; the router replaces it with the provider's key. */
export const ROUTED_KEY_PLACEHOLDER = 'nemoclaw-routed';

/**
 * What the compiler adds to the agent's environment for a sandbox with inference: unmodified
 * OpenAI and Anthropic SDKs reach the router on the proxy port as a plain origin server
 * (127.0.0.1 is in NO_PROXY), holding only a placeholder key. The proxy variables themselves
 * (and NODE_USE_ENV_PROXY) are the runtime's: see agentEnv in src/init-protocol/spec.ts.
 */
export function inferenceEnv(): Record<string, string> {
  const base = `http://127.0.0.1:${PROXY_PORT}`;
  return {
    OPENAI_BASE_URL: `${base}/v1`,
    OPENAI_API_KEY: ROUTED_KEY_PLACEHOLDER,
    ANTHROPIC_BASE_URL: base,
    ANTHROPIC_API_KEY: ROUTED_KEY_PLACEHOLDER,
  };
}

/** uid/gid of the built-in `sandbox` user. */
export const SANDBOX_UID = 1000;

export function compileMounts(name: string, s: ResolvedSandbox): Mount[] {
  const mounts = new Map<string, Mount['mode']>();
  const norm = (p: string) => {
    const n = normalizePath(p);
    if (!n) throw new CompileError(name, `path "${p}" must be absolute and must not contain ".."`);
    return n;
  };
  for (const p of s.filesystem.read_only) mounts.set(norm(p), 'ro');
  for (const p of [...s.filesystem.read_write, s.workdir]) {
    const n = norm(p);
    if (mounts.get(n) === 'ro' && s.filesystem.read_only.some((r) => norm(r) === n)) {
      throw new CompileError(name, `path "${n}" is both read_only and read_write`);
    }
    mounts.set(n, 'rw');
  }
  return [...mounts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([target, mode]) => ({ target, mode }));
}

/** Variables the runtime sets itself or that would let the environment inject code: never a secret's name. */
const RESERVED = /^(HTTPS?_PROXY|ALL_PROXY|NO_PROXY|LD_PRELOAD|LD_AUDIT|LD_LIBRARY_PATH)$/i;

/** `secrets:` as references only, sorted; null when there are none. Never echoes a value. */
export function compileSecrets(name: string, s: ResolvedSandbox): Record<string, string> | null {
  const entries = Object.entries(s.secrets ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [k, ref] of entries) {
    if (!parseSecretRef(ref)) throw new CompileError(name, `secret ${k} is not a reference (env:HOST_VAR or file:/absolute/path)`);
    if (k in s.env) throw new CompileError(name, `${k} is both in env and in secrets`);
    if (RESERVED.test(k)) throw new CompileError(name, `${k} cannot be a secret: nemoclaw sets or forbids it`);
  }
  return entries.length ? Object.fromEntries(entries) : null;
}

export function compileSandbox(
  name: string,
  s: ResolvedSandbox,
  mounts: Mount[],
  networked: boolean,
  image: string | null,
): SandboxArtifact {
  if (!s.command) throw new CompileError(name, 'no command: set `command` or use a blueprint that has one');
  const user = s.process.user;
  const uid = user === 'sandbox' ? SANDBOX_UID : user === 'root' ? 0 : user;
  if (uid === 0) throw new CompileError(name, 'the agent never runs as root (uid 0)');
  const secrets = compileSecrets(name, s);
  if (s.network.listen.includes(PROXY_PORT)) {
    throw new CompileError(name, `network.listen: port ${PROXY_PORT} is the gateway's port inside the sandbox`);
  }
  return {
    format_version: 1,
    name,
    runtime: s.runtime,
    image,
    ...(s.requires?.node ? { requires: { node: s.requires.node } } : {}),
    command: [...s.command],
    workdir: normalizePath(s.workdir) ?? s.workdir,
    user: { uid, gid: s.process.group ?? uid },
    env: Object.fromEntries(Object.entries({ ...s.env, ...(s.inference ? inferenceEnv() : {}) }).sort(([a], [b]) => (a < b ? -1 : 1))),
    ...(secrets ? { secrets } : {}),
    mounts,
    limits: {
      pids: s.process.limits.pids,
      memory_bytes: parseSize(s.process.limits.memory),
      nofile: s.process.limits.nofile,
      disk_bytes: parseSize(s.process.limits.disk),
      disk_enforcement: s.process.limits.disk_enforcement,
    },
    network: { mode: networked ? 'gateway' : 'none', proxy_port: PROXY_PORT },
    inference: s.inference ? { provider: s.inference.provider } : null,
    protect: s.protect,
  };
}
