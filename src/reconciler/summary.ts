// The semantic summary: what a sandbox may newly do and may no longer do after a plan, in the
// words `nemoclaw explain` uses (endpointText, capabilities). Pure.
import type { CompiledSandbox } from '../compiler/artifacts.js';
import { capabilities, endpointText } from '../compiler/explain.js';
import type { SemanticSummary } from './types.js';

function endpoints(c: CompiledSandbox): string[] {
  return [...new Set(c.artifacts.egress.rules.flatMap((r) => r.endpoints.map(endpointText)))];
}

function syscalls(c: CompiledSandbox): string[] {
  return [...new Set(c.artifacts.seccomp.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names))].sort();
}

/** Names only: where a secret comes from is the operator's business, its value nobody's. */
function secretNames(c: CompiledSandbox): string[] {
  return Object.keys(c.artifacts.sandbox.secrets ?? {});
}

function diff(a: string[], b: string[]): { added: string[]; removed: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  return { added: b.filter((x) => !sa.has(x)), removed: a.filter((x) => !sb.has(x)) };
}

/** Everything a new sandbox may do (create), or nothing it may still do (delete). */
function whole(c: CompiledSandbox): string[] {
  const k = capabilities(c);
  const n = c.name;
  return [
    ...k.reach.map((r) => `${n} may ${r.replace(/ {2}\(.*\)$/, '')}`),
    ...k.read.map((p) => `${n} may read ${p}`),
    ...k.write.map((p) => `${n} may write ${p}`),
    ...k.execute.map((p) => `${n} may execute files from ${p}`),
    `${n} may call ${k.syscalls.allowed} system calls`,
    `${n} runs as ${k.user}`,
    ...(k.inference ? [`${n} may call the model ${k.inference}`] : []),
    ...k.listen.map((p) => `${n} may listen on port ${p}`),
    ...k.published.map((p) => `${n} may be reached from the host at ${p}`),
    ...secretNames(c).map((x) => `${n} may read the secret ${x}`),
  ];
}

export function semanticSummary(name: string, before: CompiledSandbox | null, after: CompiledSandbox | null): SemanticSummary {
  if (!before && !after) return { gains: [], losses: [] };
  if (!before) return { gains: whole(after!), losses: [] };
  if (!after)
    return {
      gains: [],
      losses: [
        `${name} stops running and its workspace is deleted`,
        ...whole(before).map((s) => s.replace(/ may /, ' may no longer ').replace(/ runs as .*/, ' no longer runs')),
      ],
    };
  const gains: string[] = [];
  const losses: string[] = [];
  const pair = (a: string[], b: string[], now: (x: string) => string, no: (x: string) => string) => {
    const d = diff(a, b);
    gains.push(...d.added.map(now));
    losses.push(...d.removed.map(no));
  };
  const ka = capabilities(before);
  const kb = capabilities(after);
  pair(
    endpoints(before),
    endpoints(after),
    (e) => `${name} may now ${e}`,
    (e) => `${name} may no longer ${e}`,
  );
  pair(
    ka.read,
    kb.read,
    (p) => `${name} may now read ${p}`,
    (p) => `${name} may no longer read ${p}`,
  );
  pair(
    ka.write,
    kb.write,
    (p) => `${name} may now write ${p}`,
    (p) => `${name} may no longer write ${p}`,
  );
  pair(
    ka.execute,
    kb.execute,
    (p) => `${name} may now execute files from ${p}`,
    (p) => `${name} may no longer execute files from ${p}`,
  );
  pair(
    syscalls(before),
    syscalls(after),
    (s) => `${name} may now call ${s}`,
    (s) => `${name} may no longer call ${s}`,
  );
  pair(
    ka.listen.map(String),
    kb.listen.map(String),
    (p) => `${name} may now listen on port ${p}`,
    (p) => `${name} may no longer listen on port ${p}`,
  );
  pair(
    ka.published,
    kb.published,
    (p) => `${name} may now be reached from the host at ${p}`,
    (p) => `${name} may no longer be reached from the host at ${p}`,
  );
  const ea = before.artifacts.egress;
  const eb = after.artifacts.egress;
  pair(
    ea.allowed_ips,
    eb.allowed_ips,
    (c) => `${name} may now connect to internal addresses in ${c}`,
    (c) => `${name} may no longer connect to internal addresses in ${c}`,
  );
  pair(
    secretNames(before),
    secretNames(after),
    (x) => `${name} may now read the secret ${x}`,
    (x) => `${name} may no longer read the secret ${x}`,
  );
  if (ka.user !== kb.user) gains.push(`${name} now runs as ${kb.user} (was ${ka.user})`);
  if (ea.on_deny !== eb.on_deny) (eb.on_deny === 'ask' ? gains : losses).push(`${name}: ${kb.on_deny} (was: ${ka.on_deny})`);
  if (ka.inference !== kb.inference) {
    if (kb.inference) gains.push(`${name} may now call the model ${kb.inference}`);
    else losses.push(`${name} may no longer call the model ${ka.inference}`);
  }
  const la = before.artifacts.sandbox.limits;
  const lb = after.artifacts.sandbox.limits;
  for (const [k, what] of [
    ['pids', 'processes'],
    ['memory_bytes', 'bytes of memory'],
    ['nofile', 'open files'],
    ['disk_bytes', 'bytes of disk'],
  ] as const) {
    if (lb[k] > la[k]) gains.push(`${name} may now use up to ${lb[k]} ${what} (was ${la[k]})`);
    if (lb[k] < la[k]) losses.push(`${name} may no longer use more than ${lb[k]} ${what} (was ${la[k]})`);
  }
  return { gains, losses };
}
