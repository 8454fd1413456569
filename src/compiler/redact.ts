// The one place that decides what is secret in output: strings that look like credentials
// (provider token formats) and values of environment variables named like secrets. Every output
// (plan text/markdown/json, saved plans, explain, status, lint) redacts through here. Pure.
// A finding shows only the provider's public prefix (e.g. `nvapi-…`), never a character of the
// secret itself.

interface SecretPattern {
  what: string;
  /** Must match the whole token; compiled with the global flag and a left boundary. */
  body: string;
  /** Shown in place of the token: a fixed text, or how many leading (public prefix) characters to keep. */
  shown: string | number;
  /** Extra guard against ordinary words (e.g. `sk-` in `task-runner-config`). */
  mixed?: boolean;
}

// Prefixes follow the providers' documented token formats. Ordered: more specific first.
const PATTERNS: readonly SecretPattern[] = [
  // The whole block through its END line (or to the end of the text when that is missing).
  {
    what: 'PEM private key',
    shown: '-----BEGIN … PRIVATE KEY-----',
    body: '-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\\s\\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\\s\\S]*$)',
  },
  { what: 'NVIDIA API key', body: 'nvapi-[A-Za-z0-9_-]{20,}', shown: 'nvapi-…' },
  { what: 'Anthropic API key', body: 'sk-ant-[A-Za-z0-9_-]{20,}', shown: 'sk-ant-…' },
  { what: 'OpenAI-style API key', body: 'sk-[A-Za-z0-9_-]{20,}', shown: 'sk-…', mixed: true },
  { what: 'Stripe secret key', body: '[sr]k_(?:live|test)_[A-Za-z0-9]{16,}', shown: 8 },
  { what: 'GitHub fine-grained token', body: 'github_pat_[A-Za-z0-9_]{22,}', shown: 'github_pat_…' },
  { what: 'GitHub token', body: 'gh[pousr]_[A-Za-z0-9]{30,}', shown: 4 },
  { what: 'GitLab token', body: 'glpat-[A-Za-z0-9_-]{20,}', shown: 'glpat-…' },
  { what: 'Slack token', body: 'xox[abposr]-[A-Za-z0-9-]{10,}', shown: 5 },
  { what: 'AWS access key id', body: '(?:AKIA|ASIA)[0-9A-Z]{16}', shown: 4 },
  { what: 'Google API key', body: 'AIza[0-9A-Za-z_-]{35}', shown: 'AIza…' },
  { what: 'Hugging Face token', body: 'hf_[A-Za-z0-9]{30,}', shown: 'hf_…' },
  { what: 'npm token', body: 'npm_[A-Za-z0-9]{36}', shown: 'npm_…' },
  { what: 'PyPI token', body: 'pypi-[A-Za-z0-9_-]{50,}', shown: 'pypi-…' },
  { what: 'SendGrid key', body: 'SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}', shown: 'SG.…' },
  { what: 'JSON web token', body: 'eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}', shown: 'eyJ…' },
  { what: 'password in a URL', body: '[A-Za-z][A-Za-z0-9+.-]*://[^\\s/:@]+:[^\\s/@]+@', shown: '…://…:…@' },
];

// Left boundary: a token starts the string or follows a non-alphanumeric character.
const compiled = PATTERNS.map((p) => ({ ...p, re: new RegExp(`(?<![A-Za-z0-9])(?:${p.body})`, 'g') }));

const isMixed = (s: string): boolean => /[0-9]/.test(s) && /[A-Za-z].*[A-Za-z]/.test(s.replace(/^[a-z]+-/, ''));

export interface SecretMatch {
  what: string;
  shown: string;
  index: number;
  length: number;
}

/**
 * A literal every match of PATTERNS contains (its provider prefix, or `://` of a URL): a string
 * without one holds no secret, and is not run through the 17 patterns (compiling them cost a
 * short command more than its output). Kept next to PATTERNS: a new pattern needs its anchor here.
 */
const ANCHORS = /-----BEGIN|nvapi-|sk-|[sr]k_|github_pat_|gh[pousr]_|glpat-|xox[abposr]-|AKIA|ASIA|AIza|hf_|npm_|pypi-|SG\.|eyJ|:\/\//;

/** Credential-looking tokens in `s`, left to right, not overlapping. */
export function findSecrets(s: string): SecretMatch[] {
  if (!ANCHORS.test(s)) return [];
  const found: SecretMatch[] = [];
  for (const p of compiled) {
    p.re.lastIndex = 0;
    for (let m = p.re.exec(s); m !== null; m = p.re.exec(s)) {
      if (p.mixed && !isMixed(m[0])) continue;
      const start = m.index,
        end = m.index + m[0].length;
      if (found.some((f) => start < f.index + f.length && f.index < end)) continue;
      found.push({
        what: p.what,
        shown: typeof p.shown === 'number' ? m[0].slice(0, p.shown) + '…' : p.shown,
        index: start,
        length: m[0].length,
      });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

/** `s` with every credential-looking token replaced by its redacted form. */
export function redactSecrets(s: string): string {
  const found = findSecrets(s);
  let out = '';
  let pos = 0;
  for (const f of found) {
    out += s.slice(pos, f.index) + `[redacted ${f.shown}]`;
    pos = f.index + f.length;
  }
  return out + s.slice(pos);
}

/** Names that conventionally hold a credential. `_FILE`/`_PATH`/... variants hold a location instead. */
const SECRET_NAME = /(^|_)(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|ACCESS_KEY)($|_)/i;
const LOCATION_SUFFIX = /_(FILE|PATH|DIR|URL|ENDPOINT|HOST)$/i;

/** Is NAME an environment variable name that conventionally holds a credential? */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !LOCATION_SUFFIX.test(name);
}

/** Shown in place of a sensitive environment value. */
export const REDACTED_VALUE = '(sensitive value)';
/** Shown in place of a sensitive value that differs from the previous one. */
export const REDACTED_CHANGED = '(sensitive value, changed)';

/** Is this environment entry's value to be hidden in output: a secret-like name, or a credential-like value? */
export function isSensitiveEnv(name: string, value: string): boolean {
  return value !== '' && (isSecretName(name) || findSecrets(value).length > 0);
}

/**
 * ENV for display: values of sensitive entries replaced by REDACTED_VALUE. Given the PREVIOUS env
 * (the old side of a diff), a redacted value that differs from it is marked as changed, so a
 * changed secret still shows as a changed line without revealing either value.
 */
export function redactEnv(env: Record<string, string>, previous?: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    const old = previous?.[k];
    if (!isSensitiveEnv(k, v) && !(old !== undefined && isSensitiveEnv(k, old))) out[k] = v;
    else out[k] = old !== undefined && old !== v ? REDACTED_CHANGED : REDACTED_VALUE;
  }
  return out;
}

/**
 * The bytes of a sandbox.json for display: sensitive env values redacted (see redactEnv, PREVIOUS
 * being the old sandbox.json of a diff), then any credential-looking token anywhere. Text that is
 * not a sandbox artifact is only pattern-redacted.
 */
export function redactSandboxJson(bytes: string, previous?: string): string {
  const envOf = (text: string | undefined): Record<string, string> | undefined => {
    try {
      const e = text === undefined ? undefined : (JSON.parse(text) as { env?: unknown }).env;
      return typeof e === 'object' && e !== null ? (e as Record<string, string>) : undefined;
    } catch {
      return undefined;
    }
  };
  const env = envOf(bytes);
  const shownEnv = env && redactEnv(env, envOf(previous));
  // Untouched bytes stay the exact bytes (their digest still matches).
  if (!env || Object.entries(env).every(([k, v]) => shownEnv![k] === v)) return redactSecrets(bytes);
  return redactSecrets(JSON.stringify({ ...(JSON.parse(bytes) as Record<string, unknown>), env: shownEnv }));
}

/** Every string in VALUE (keys too) pattern-redacted; structure kept. For JSON output of reports. */
export function redactDeep<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactSecrets(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [redactSecrets(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}
