// `nemoclaw init`, the pure part: the answers of the guided setup → a commented nemoclaw.yaml.
// No I/O: the CLI asks the questions (src/cli/commands/init.ts), writes the file and the lock.
// Text is built by hand rather than through the yaml library so that every section carries the
// comment that explains it; the tests parse and validate the result.
import { UserError } from '../util/errors.js';

/**
 * The blueprint a generated file extends: OpenClaw from its own image (blueprints/openclaw/v2, the
 * image built from the package's images/openclaw), in either runtime. The entry names no image of
 * its own unless `--image` gave one: the blueprint's is pinned by nemoclaw.lock once built.
 */
export const OPENCLAW_BLUEPRINT = 'openclaw@2';
/**
 * The model OpenClaw asks the router for: the image's /etc/openclaw/openclaw.json points OpenClaw
 * at provider `nemoclaw` (the router) with `agents.defaults.model.primary: nemoclaw/default`. The
 * generated entry maps this alias to the chosen provider's model.
 */
export const OPENCLAW_MODEL_ALIAS = 'default';

export type InitRuntime = 'process' | 'docker';
export type OnDeny = 'ask' | 'deny';

export interface ProviderChoice {
  /** Name under inference.providers. */
  id: string;
  api: 'openai' | 'anthropic';
  endpoint: string;
  model: string;
  /** env:NAME or file:/path; absent for a local server that needs no key. */
  credential?: string;
}

export const KNOWN_PROVIDERS = {
  nvidia: {
    id: 'nvidia',
    api: 'openai',
    endpoint: 'https://integrate.api.nvidia.com/v1',
    model: 'nvidia/nemotron-3-super-120b-a12b',
    credential: 'env:NVIDIA_API_KEY',
  },
  openai: { id: 'openai', api: 'openai', endpoint: 'https://api.openai.com/v1', model: 'gpt-4o-mini', credential: 'env:OPENAI_API_KEY' },
  // OpenClaw's provider in the image speaks the OpenAI chat-completions API (api:
  // openai-completions), and the router never translates between APIs: Anthropic is reached
  // through its OpenAI-compatible endpoint.
  anthropic: {
    id: 'anthropic',
    api: 'openai',
    endpoint: 'https://api.anthropic.com/v1',
    model: 'claude-sonnet-4-5',
    credential: 'env:ANTHROPIC_API_KEY',
  },
} as const satisfies Record<string, ProviderChoice>;
export type KnownProvider = keyof typeof KNOWN_PROVIDERS;

/** Provider name for a server given by URL. */
export const LOCAL_PROVIDER = 'local';
/** The default model of a local OpenAI-compatible server (Ollama's naming); `--model` changes it. */
export const LOCAL_DEFAULT_MODEL = 'llama3.2';

export interface InitAnswers {
  name: string;
  runtime: InitRuntime;
  provider: ProviderChoice;
  presets: string[];
  onDeny: OnDeny;
  /** An image to run instead of the blueprint's (`--image`, either runtime). */
  image?: string;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const CREDENTIAL = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/;

export function checkName(name: string): string {
  if (!NAME.test(name)) throw new UserError(`agent name "${name}": use a-z, 0-9 and -, starting with a letter (at most 63)`);
  return name;
}

export function checkRuntime(runtime: string): InitRuntime {
  if (runtime !== 'process' && runtime !== 'docker') throw new UserError(`runtime "${runtime}": must be process or docker`);
  return runtime;
}

export function checkOnDeny(v: string): OnDeny {
  if (v !== 'ask' && v !== 'deny') throw new UserError(`on_deny "${v}": must be ask or deny`);
  return v;
}

/**
 * Where the key lives: env:NAME or file:/absolute/path. Anything else is refused, and the refusal
 * never echoes the value: a user who pasted the key itself must not see it printed back (or logged).
 */
export function checkCredential(v: string): string {
  if (!CREDENTIAL.test(v)) {
    throw new UserError('credential: give where the key lives, env:NAME or file:/absolute/path, never the key itself');
  }
  return v;
}

/** `--presets a,b` or the prompt's answer: names from the catalog, in the order given, no repeats. */
export function parsePresets(text: string, available: readonly string[]): string[] {
  const names = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  const unknown = names.filter((n) => !available.includes(n));
  if (unknown.length) throw new UserError(`unknown preset ${unknown.join(', ')} (available: ${available.join(', ')})`);
  return names;
}

/**
 * nvidia | openai | anthropic, or the URL of a local OpenAI-compatible server (e.g.
 * http://127.0.0.1:11434/v1). `credential` replaces the provider's default; `model` its model.
 */
export function resolveProvider(spec: string, credential?: string, model?: string): ProviderChoice {
  let p: ProviderChoice;
  if (Object.hasOwn(KNOWN_PROVIDERS, spec)) p = { ...KNOWN_PROVIDERS[spec as KnownProvider] };
  else if (/^https?:\/\/[^\s/]+/.test(spec))
    p = { id: LOCAL_PROVIDER, api: 'openai', endpoint: spec.replace(/\/+$/, ''), model: LOCAL_DEFAULT_MODEL };
  else throw new UserError(`provider "${spec}": use ${Object.keys(KNOWN_PROVIDERS).join(', ')} or the URL of an OpenAI-compatible server`);
  if (credential) p.credential = checkCredential(credential);
  if (model) p.model = model;
  return p;
}

/** YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML). */
function scalar(s: string): string {
  return /^[A-Za-z0-9_./@-][A-Za-z0-9_./@:-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) ? s : JSON.stringify(s);
}

export function renderConfig(a: InitAnswers): string {
  const p = a.provider;
  const lines: string[] = [
    `# Written by \`nemoclaw init\`: one OpenClaw agent, "${a.name}", in the ${a.runtime === 'docker' ? 'Docker' : 'embedded (process)'} runtime.`,
    '# Check it with `nemoclaw lint`, see what it allows with `nemoclaw explain ' + a.name + '`, start it',
    '# with `nemoclaw apply`. Commit this file and nemoclaw.lock (pinned blueprint, presets and image).',
    'version: 1',
    'sandboxes:',
    `  ${a.name}:`,
    '    # The OpenClaw blueprint, v2: `openclaw gateway` from the image nemoclaw/openclaw (built by',
    '    # `nemoclaw image build` from the images/openclaw nemoclaw ships; nemoclaw.lock pins its digest),',
    '    # the image read-only, /sandbox and /tmp writable, unprivileged user, seccomp, resource limits,',
    "    # OpenClaw's Control UI on the host's loopback (127.0.0.1:18789). Anything set here overrides it.",
    `    blueprint: ${scalar(OPENCLAW_BLUEPRINT)}`,
    `    runtime: ${a.runtime}`,
  ];
  if (a.image !== undefined) {
    lines.push(
      "    # Instead of the blueprint's image; pinned by nemoclaw.lock (or write name@sha256:<digest>).",
      `    image: ${scalar(a.image)}`,
    );
  } else if (a.runtime === 'docker') {
    lines.push('    # Docker runs the image `nemoclaw image build --load` gave it; the lock pins its image id.');
  }
  lines.push(
    '    network:',
    '      # Hosts the agent may reach, from blueprints/presets; everything else is refused by the',
    '      # egress gateway. Add your own with `egress:` rules (see docs/config-reference.md).',
    `      presets: [${a.presets.map(scalar).join(', ')}]`,
    a.onDeny === 'ask'
      ? '      # ask: a refused request is queued; allow it once or for good with `nemoclaw approvals`.'
      : '      # deny: a refused request is refused, nothing is queued (ask would queue it for approval).',
    `      on_deny: ${a.onDeny}`,
    '    # Model calls go through the inference router, which adds the key: the agent never holds it.',
    '    inference:',
    `      provider: ${scalar(p.id)}`,
    `      # OpenClaw asks for the model \`${OPENCLAW_MODEL_ALIAS}\` (nemoclaw/${OPENCLAW_MODEL_ALIAS} in the image's config); the router`,
    '      # sends that to the model here. A model the policy does not name is refused (403).',
    '      models:',
    `        ${OPENCLAW_MODEL_ALIAS}: { provider: ${scalar(p.id)}, model: ${scalar(p.model)} }`,
    '      limits: { requests_per_minute: 60, concurrent: 4 }',
    '    env: { TZ: UTC }',
    'inference:',
    '  providers:',
    `    ${p.id}:`,
    ...(p.id === 'anthropic' && p.api === 'openai'
      ? ["      # Anthropic's OpenAI-compatible endpoint: OpenClaw's provider speaks the OpenAI API."]
      : []),
    `      api: ${p.api}`,
    `      endpoint: ${scalar(p.endpoint)}`,
    `      model: ${scalar(p.model)}`,
  );
  if (p.credential) {
    lines.push("      # Where the router reads the key (env:NAME in the gateway's environment, or file:/path).");
    lines.push(`      credential: ${scalar(p.credential)}`);
  } else {
    lines.push('      # A local server without a key; add credential: env:NAME or file:/path if it needs one.');
  }
  // A local server is usually plain http and keyless: the user chose that, so the two warnings
  // lint would raise are silenced here, visibly, with the reason beside them.
  const suppress = [
    ...(p.id === LOCAL_PROVIDER && !p.credential ? ['provider-credential-missing'] : []),
    ...(p.id === LOCAL_PROVIDER && p.endpoint.startsWith('http://') ? ['provider-endpoint-insecure'] : []),
  ];
  if (suppress.length) {
    lines.push(
      'lint:',
      '  # The model server runs on this host (chosen at `nemoclaw init`); drop these if it moves elsewhere.',
      `  suppress: [${suppress.join(', ')}]`,
    );
  }
  return lines.join('\n') + '\n';
}
