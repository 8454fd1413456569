// Risk, stated plainly: each difference between two compiled sandboxes classed as widening (the
// agent may do more) or narrowing (it may do less), by area, so a reviewer who reads one line per
// sandbox knows whether to look closer. Pure. Anything ambiguous counts as widening: the cost of
// a false alarm is a second look, the cost of a missed widening is an agent with more power.
import type { CompiledSandbox, EgressEndpoint, LandlockFsRight } from '../compiler/artifacts.js';
import { endpointText } from '../compiler/explain.js';
import { isLocalEndpoint } from '../compiler/egress.js';

export type RiskArea = 'egress' | 'filesystem' | 'syscalls' | 'landlock' | 'user' | 'limits' | 'on_deny' | 'inference';
export type Direction = 'widens' | 'narrows';

export interface RiskChange {
  area: RiskArea;
  direction: Direction;
  /** What the count in the verdict counts: a host, a path, a system call... */
  subject: string;
  /** One plain sentence, e.g. "may now reach api.slack.com". */
  what: string;
}

const UNIT: Record<RiskArea, [string, string]> = {
  egress: ['host', 'hosts'],
  filesystem: ['path', 'paths'],
  syscalls: ['syscall', 'syscalls'],
  landlock: ['setting', 'settings'],
  user: ['', ''],
  limits: ['limit', 'limits'],
  on_deny: ['', ''],
  inference: ['provider', 'providers'],
};

const AREA_WORD: Record<RiskArea, string> = {
  egress: 'egress',
  filesystem: 'filesystem',
  syscalls: 'syscalls',
  landlock: 'Landlock floor',
  user: 'user',
  limits: 'limits',
  on_deny: 'on_deny',
  inference: 'inference',
};

/** Does `a` allow at least everything `b` allows? Paths are compared as sets: a narrower glob counts as different. */
function covers(a: EgressEndpoint, b: EgressEndpoint): boolean {
  const hostOk = a.host === b.host ? a.wildcard || !b.wildcard : a.wildcard && b.host.endsWith(`.${a.host}`);
  const sub = (x: string[] | null, y: string[] | null) => x === null || (y !== null && y.every((v) => x.includes(v)));
  return hostOk && a.port === b.port && a.protocol === b.protocol && sub(a.methods, b.methods) && sub(a.paths, b.paths);
}

function endpoints(c: CompiledSandbox): EgressEndpoint[] {
  return c.artifacts.egress.rules.flatMap((r) => r.endpoints);
}

function egressChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const out: RiskChange[] = [];
  const ea = endpoints(a);
  const eb = endpoints(b);
  const hostsA = new Set(ea.map((e) => e.host));
  for (const e of eb.filter((e) => !ea.some((x) => covers(x, e)))) {
    const what = hostsA.has(e.host)
      ? `may now ${endpointText(e)} (more than before on this host)`
      : `may now ${endpointText(e)} (new host)`;
    out.push({ area: 'egress', direction: 'widens', subject: e.host, what });
  }
  for (const e of ea.filter((e) => !eb.some((x) => covers(x, e))))
    out.push({ area: 'egress', direction: 'narrows', subject: e.host, what: `may no longer ${endpointText(e)}` });
  const ipsA = a.artifacts.egress.allowed_ips;
  const ipsB = b.artifacts.egress.allowed_ips;
  for (const c of ipsB.filter((x) => !ipsA.includes(x)))
    out.push({ area: 'egress', direction: 'widens', subject: c, what: `may now connect to internal addresses in ${c}` });
  for (const c of ipsA.filter((x) => !ipsB.includes(x)))
    out.push({ area: 'egress', direction: 'narrows', subject: c, what: `may no longer connect to internal addresses in ${c}` });
  return out;
}

const RIGHT_WORD = (r: LandlockFsRight) =>
  r === 'write_file' ? 'write' : r === 'execute' ? 'execute files from' : r === 'read_file' ? 'read' : r;

function filesystemChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const out: RiskChange[] = [];
  const rules = (c: CompiledSandbox) => new Map(c.artifacts.landlock.path_rules.map((r) => [r.path, new Set(r.access)]));
  const ra = rules(a);
  const rb = rules(b);
  const main: LandlockFsRight[] = ['write_file', 'execute', 'read_file'];
  for (const path of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
    const before = ra.get(path) ?? new Set<LandlockFsRight>();
    const after = rb.get(path) ?? new Set<LandlockFsRight>();
    const added = [...after].filter((r) => !before.has(r));
    const removed = [...before].filter((r) => !after.has(r));
    // Name the right that matters most; the unified diff has the rest.
    const name = (rs: LandlockFsRight[]) => RIGHT_WORD(main.find((m) => rs.includes(m)) ?? rs[0]!);
    if (added.length) out.push({ area: 'filesystem', direction: 'widens', subject: path, what: `may now ${name(added)} ${path}` });
    if (removed.length)
      out.push({ area: 'filesystem', direction: 'narrows', subject: path, what: `may no longer ${name(removed)} ${path}` });
  }
  return out;
}

function syscallChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const allowed = (c: CompiledSandbox) =>
    new Set(c.artifacts.seccomp.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
  const sa = allowed(a);
  const sb = allowed(b);
  return [
    ...[...sb]
      .filter((s) => !sa.has(s))
      .sort()
      .map((s): RiskChange => ({ area: 'syscalls', direction: 'widens', subject: s, what: `may now call ${s}` })),
    ...[...sa]
      .filter((s) => !sb.has(s))
      .sort()
      .map((s): RiskChange => ({ area: 'syscalls', direction: 'narrows', subject: s, what: `may no longer call ${s}` })),
  ];
}

function landlockChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const out: RiskChange[] = [];
  const la = a.artifacts.landlock;
  const lb = b.artifacts.landlock;
  const push = (direction: Direction, subject: string, what: string) => out.push({ area: 'landlock', direction, subject, what });
  if (la.compatibility !== lb.compatibility)
    push(
      lb.compatibility === 'best_effort' ? 'widens' : 'narrows',
      'compatibility',
      lb.compatibility === 'best_effort' ? 'starts even where the kernel cannot enforce Landlock' : 'now refuses to start without Landlock',
    );
  if (la.abi_floor !== lb.abi_floor)
    push(lb.abi_floor < la.abi_floor ? 'widens' : 'narrows', 'abi_floor', `Landlock ABI floor ${la.abi_floor} → ${lb.abi_floor}`);
  const fewer = <T>(x: T[], y: T[]) => x.filter((v) => !y.includes(v));
  const unhandled = [...fewer(la.handled_access_fs, lb.handled_access_fs), ...fewer(la.handled_access_net, lb.handled_access_net)];
  const handled = [...fewer(lb.handled_access_fs, la.handled_access_fs), ...fewer(lb.handled_access_net, la.handled_access_net)];
  if (unhandled.length) push('widens', 'handled', `Landlock no longer restricts ${unhandled.join(', ')}`);
  if (handled.length) push('narrows', 'handled', `Landlock now restricts ${handled.join(', ')}`);
  const unscoped = fewer(la.scoped, lb.scoped);
  const scoped = fewer(lb.scoped, la.scoped);
  if (unscoped.length) push('widens', 'scoped', `no longer scoped: ${unscoped.join(', ')}`);
  if (scoped.length) push('narrows', 'scoped', `now scoped: ${scoped.join(', ')}`);
  const portsA = la.net_rules.map((r) => `${r.port}:${[...r.access].sort().join('+')}`);
  const portsB = lb.net_rules.map((r) => `${r.port}:${[...r.access].sort().join('+')}`);
  for (const p of fewer(portsB, portsA)) push('widens', `tcp ${p}`, `Landlock now allows TCP ${p}`);
  for (const p of fewer(portsA, portsB)) push('narrows', `tcp ${p}`, `Landlock no longer allows TCP ${p}`);
  return out;
}

function userChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const ua = a.artifacts.sandbox.user;
  const ub = b.artifacts.sandbox.user;
  if (ua.uid === ub.uid && ua.gid === ub.gid) return [];
  const root = (u: { uid: number; gid: number }) => u.uid === 0 || u.gid === 0;
  if (root(ub) && !root(ua))
    return [
      {
        area: 'user',
        direction: 'widens',
        subject: 'root',
        what: `now runs ${ub.uid === 0 ? 'as root' : 'in the root group'} (uid ${ub.uid}, gid ${ub.gid})`,
      },
    ];
  if (root(ua) && !root(ub))
    return [{ area: 'user', direction: 'narrows', subject: 'root', what: `no longer runs as root (uid ${ub.uid}, gid ${ub.gid})` }];
  return [];
}

function limitChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const la = a.artifacts.sandbox.limits;
  const lb = b.artifacts.sandbox.limits;
  const out: RiskChange[] = [];
  for (const k of ['pids', 'memory_bytes', 'nofile', 'disk_bytes'] as const) {
    if (lb[k] > la[k]) out.push({ area: 'limits', direction: 'widens', subject: k, what: `${k} ${la[k]} → ${lb[k]}` });
    if (lb[k] < la[k]) out.push({ area: 'limits', direction: 'narrows', subject: k, what: `${k} ${la[k]} → ${lb[k]}` });
  }
  if (la.disk_enforcement !== lb.disk_enforcement)
    out.push({
      area: 'limits',
      direction: lb.disk_enforcement === 'best_effort' ? 'widens' : 'narrows',
      subject: 'disk_enforcement',
      what: `disk_enforcement ${la.disk_enforcement} → ${lb.disk_enforcement}`,
    });
  return out;
}

function inferenceChanges(a: CompiledSandbox, b: CompiledSandbox): RiskChange[] {
  const ia = a.artifacts.egress.inference;
  const ib = b.artifacts.egress.inference;
  if (JSON.stringify(ia) === JSON.stringify(ib)) return [];
  const change = (direction: RiskChange['direction'], subject: string, what: string): RiskChange => ({
    area: 'inference',
    direction,
    subject,
    what,
  });
  if (!ib) return [change('narrows', ia!.provider, `may no longer call model providers (${Object.keys(ia!.providers).join(', ')})`)];
  if (!ia)
    return [
      change('widens', ib.provider, `may now call the model providers ${Object.keys(ib.providers).join(', ')}`),
      ...(ib.capture === 'full'
        ? [change('widens', ib.provider, 'prompts and responses are captured to disk (inference.capture: full)')]
        : []),
    ];
  const out: RiskChange[] = [];
  const local = (p: { endpoint: string; local: boolean }) => p.local || isLocalEndpoint(p.endpoint);
  for (const [name, p] of Object.entries(ib.providers)) {
    const was = ia.providers[name];
    if (!was) out.push(change('widens', name, `may now call the model provider ${name}${local(p) ? '' : ' (leaves the machine)'}`));
    else if (was.endpoint !== p.endpoint)
      out.push(change('widens', name, `model calls to ${name} now go to ${p.endpoint} (was ${was.endpoint})`));
    else if (local(was) && !local(p)) out.push(change('widens', name, `model calls to ${name} now leave the machine`));
  }
  for (const name of Object.keys(ia.providers))
    if (!ib.providers[name]) out.push(change('narrows', name, `may no longer call the model provider ${name}`));
  if (ia.local_only && !ib.local_only) out.push(change('widens', ib.provider, 'model calls may now leave the machine (local_only off)'));
  if (!ia.local_only && ib.local_only) out.push(change('narrows', ib.provider, 'model calls are now local-only'));
  if (ia.capture !== ib.capture)
    out.push(
      ib.capture === 'full'
        ? change('widens', ib.provider, 'prompts and responses are now captured to disk (inference.capture: full)')
        : change('narrows', ib.provider, 'prompts and responses are no longer captured (inference.capture: off)'),
    );
  return out; // same providers and endpoints, other models or limits: not a change of who sees the data
}

/** Every widening and narrowing from `before` to `after`; for a new sandbox, everything it may do widens. */
export function classifyRisk(before: CompiledSandbox | null, after: CompiledSandbox | null): RiskChange[] {
  if (!before && !after) return [];
  if (!before || !after) {
    const c = (before ?? after)!;
    const nothing = emptyLike(c);
    return before ? classifyRisk(before, nothing) : classifyRisk(nothing, after);
  }
  const on_deny: RiskChange[] =
    before.artifacts.egress.on_deny === after.artifacts.egress.on_deny
      ? []
      : [
          {
            area: 'on_deny',
            direction: after.artifacts.egress.on_deny === 'ask' ? 'widens' : 'narrows',
            subject: 'on_deny',
            what: `unlisted requests: ${before.artifacts.egress.on_deny} → ${after.artifacts.egress.on_deny}`,
          },
        ];
  return [
    ...egressChanges(before, after),
    ...on_deny,
    ...filesystemChanges(before, after),
    ...syscallChanges(before, after),
    ...landlockChanges(before, after),
    ...userChanges(before, after),
    ...limitChanges(before, after),
    ...inferenceChanges(before, after),
  ];
}

/** A sandbox that may do nothing, to compare a created or deleted one against. */
function emptyLike(c: CompiledSandbox): CompiledSandbox {
  const a = c.artifacts;
  return {
    ...c,
    artifacts: {
      ...a,
      sandbox: {
        ...a.sandbox,
        user: { uid: 65534, gid: 65534 },
        limits: { pids: 0, memory_bytes: 0, nofile: 0, disk_bytes: 0, disk_enforcement: 'best_effort' },
      },
      landlock: { ...a.landlock, path_rules: [], net_rules: [] },
      seccomp: { ...a.seccomp, syscalls: [] },
      egress: { ...a.egress, rules: [], allowed_ips: [], inference: null, on_deny: 'deny' },
    },
  };
}

/** "widens egress (2 hosts), narrows filesystem" — or "no change in what it may do". */
export function verdict(changes: RiskChange[]): string {
  const parts: string[] = [];
  for (const direction of ['widens', 'narrows'] as const) {
    const byArea = new Map<RiskArea, Set<string>>();
    for (const c of changes.filter((x) => x.direction === direction)) {
      if (!byArea.has(c.area)) byArea.set(c.area, new Set());
      byArea.get(c.area)!.add(c.subject);
    }
    for (const [area, subjects] of byArea) {
      const [one, many] = UNIT[area];
      const n = subjects.size;
      if (area === 'user') parts.push(direction === 'widens' ? 'runs as root (user or group)' : 'no longer runs as root');
      else if (area === 'on_deny')
        parts.push(
          direction === 'widens' ? 'queues unlisted requests for approval (deny → ask)' : 'refuses unlisted requests (ask → deny)',
        );
      else
        parts.push(
          one && direction === 'widens'
            ? `${direction} ${AREA_WORD[area]} (${n} ${n === 1 ? one : many})`
            : `${direction} ${AREA_WORD[area]}`,
        );
    }
  }
  return parts.length ? parts.join(', ') : 'no change in what it may do';
}
