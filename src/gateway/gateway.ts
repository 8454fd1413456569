// The gateway core: sandboxes (policy + listener), authorization, live reload, approvals, audit.
// No process concerns (pid file, signals, control socket): see daemon.ts and control.ts.
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { stateLayout, type StateLayout } from '../state/paths.js';
import { pumpBinary } from '../util/package-paths.js';
import { ApprovalStore, type Approval } from './approvals.js';
import { writeFileAtomic, writeFilesAtomicAsync } from '../util/atomic-write.js';
import { AuditLog, type AuditHealth } from '../audit/log.js';
import type { ThrottleOptions } from '../audit/aggregate.js';
import type { SyslogTarget } from '../audit/syslog.js';
import * as audit from '../audit/record.js';
import { denialBody, rawDenial, statusFor, type Denial } from './deny.js';
import type { InferenceHandler } from './inference-hook.js';
import { PolicyIndex, matchablePath, type DenyReason, type RequestKind } from './matcher.js';
import { parsePolicy, PolicyError, type EgressPolicy, type LoadedPolicy } from './policy.js';
import { createPool, type PoolLimits, type UpstreamPool } from './pool.js';
import { idleCollector } from './idle-gc.js';
import { acceptedSockets, createProxyServer, type Authz, type Flow, type ProxyContext } from './proxy.js';
import { cachingResolver, checkAddress, guard, systemResolver, type TestHooks } from './ssrf.js';
import type { Target } from './target.js';

export interface GatewayOptions {
  stateDir: string;
  /** Test-only relaxations; see ssrf.ts. Never set from configuration. */
  testHooks?: TestHooks;
  maxConnectionsPerSandbox?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  tunnelIdleMs?: number;
  /** Tunnels move to nemoclaw-pump after this many bytes in one direction (0: never). Default 4 MiB. */
  pumpAfterBytes?: number;
  /** At most this many tunnels in nemoclaw-pump at once; the rest stay in Node. Default 64. */
  maxPumps?: number;
  /** Idle plain-HTTP upstream connections kept for reuse; `maxTotal: 0` turns reuse off. */
  upstreamPool?: Partial<PoolLimits>;
  connectTimeoutMs?: number;
  auditMaxBytes?: number;
  auditKeep?: number;
  /** Serves model calls (the inference router, injected by the daemon); without it they are refused. */
  inference?: InferenceHandler;
  /** Denial aggregation window and per-sandbox budget (audit/aggregate.ts). */
  auditThrottle?: Partial<ThrottleOptions>;
  /** Ship every audit record to this syslog socket as well. */
  auditSyslog?: SyslogTarget;
  /** Told when the audit log becomes unwritable or writable again. */
  onAuditHealth?: (h: AuditHealth) => void;
  /** Told each sandbox's policy once in force (null: unregistered): the daemon's publisher follows `ports`. */
  onPolicy?: (sandbox: string, policy: EgressPolicy | null) => void;
}

interface PolicyState {
  loaded: LoadedPolicy;
  index: PolicyIndex;
}

interface SandboxEntry {
  name: string;
  socketPath: string;
  servers: Server[];
  /** Swapped as one reference: a request sees either the old or the new policy, never a mix. */
  state: PolicyState;
  active: number;
  total: number;
  denied: number;
  flows: Set<Flow>;
}

export interface SandboxStatus {
  name: string;
  policy_version: string;
  socket: string;
  tcp: { host: string; port: number }[];
  connections: { active: number; total: number; denied: number; flows: number };
}

export interface GatewayStatus {
  pid: number;
  started_at: number;
  test_hooks: string[];
  /** Not writable: no new flow is opened (fail closed) until it is again. */
  audit: AuditHealth;
  sandboxes: SandboxStatus[];
}

/** One change of a batch (applyPolicies): register or reload with these egress.json bytes, or remove. */
export type PolicyOp = { sandbox: string; egress: Uint8Array } | { sandbox: string; remove: true };

export type PolicyOpResult =
  | { sandbox: string; ok: true; socketPath: string; policyVersion: string; closed: number }
  | { sandbox: string; ok: true; removed: boolean }
  | { sandbox: string; ok: false; error: string; /** the policy was refused (bad input), not the gateway failing */ policyError: boolean };

/** Approving only helps when the destination itself was unknown; other denials are not queued. */
const ASKABLE: ReadonlySet<DenyReason> = new Set(['no_rule', 'port_not_allowed']);

export class Gateway implements ProxyContext {
  readonly layout: StateLayout;
  readonly limits: ProxyContext['limits'];
  readonly pool: UpstreamPool;
  private readonly idle = idleCollector(2_000);
  readonly testHookNames: string[];
  private readonly sandboxes = new Map<string, SandboxEntry>();
  /** Debug TCP listeners, by sandbox name; they may exist before the sandbox is registered. */
  private readonly tcpListeners: { sandbox: string; host: string; port: number; server: Server }[] = [];
  private auditLog!: AuditLog;
  approvals!: ApprovalStore;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly resolver;
  private readonly allowLoopback: boolean;
  /** Parses HTTP inside CONNECT inference.local:80 tunnels; never listens. */
  private readonly tunnelSandbox = new WeakMap<Socket, string>();
  private readonly tunnelServer = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    const sandbox = this.tunnelSandbox.get(req.socket);
    if (sandbox === undefined) res.destroy();
    else this.inference(sandbox, req, res);
  });

  constructor(private readonly opts: GatewayOptions) {
    this.layout = stateLayout(opts.stateDir);
    this.limits = {
      maxConnections: opts.maxConnectionsPerSandbox ?? 4096,
      headersTimeoutMs: opts.headersTimeoutMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 300_000,
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 5_000,
      tunnelIdleMs: opts.tunnelIdleMs ?? 3_600_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      pump:
        opts.pumpAfterBytes === 0 || !existsSync(pumpBinary)
          ? null
          : { binary: pumpBinary, afterBytes: opts.pumpAfterBytes ?? 4 * 2 ** 20, max: opts.maxPumps ?? 64, active: 0 },
    };
    this.pool = createPool({ idleMs: 4_000, maxPerKey: 8, maxTotal: 256, ...opts.upstreamPool });
    // A test's resolver answers as the test says, every time: only the system one is cached.
    this.resolver = opts.testHooks?.resolver ?? cachingResolver(systemResolver);
    this.allowLoopback = opts.testHooks?.allowLoopback === true;
    this.testHookNames = [...(opts.testHooks?.resolver ? ['resolver'] : []), ...(this.allowLoopback ? ['allow_loopback'] : [])];
  }

  private get policiesDir(): string {
    return join(this.layout.gatewayDir, 'policies');
  }
  private get socketsDir(): string {
    return join(this.layout.gatewayDir, 'sandboxes');
  }

  /** Open the audit log and approvals, and bring back the sandboxes registered before a restart. */
  async start(): Promise<void> {
    for (const d of [this.layout.root, this.layout.gatewayDir, this.socketsDir, this.policiesDir]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
    }
    chmodSync(this.layout.gatewayDir, 0o700);
    this.auditLog = new AuditLog({
      dir: this.layout.gatewayDir,
      maxBytes: this.opts.auditMaxBytes,
      keep: this.opts.auditKeep,
      testHooks: this.testHookNames,
      throttle: this.opts.auditThrottle,
      syslog: this.opts.auditSyslog,
      onHealth: this.opts.onAuditHealth,
    });
    this.approvals = new ApprovalStore({ file: join(this.layout.gatewayDir, 'approvals.json') });
    this.audit(audit.lifecycle('start', `gateway started (pid ${process.pid})`));
    for (const f of readdirSync(this.policiesDir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      try {
        await this.applyPolicy(readFileSync(join(this.policiesDir, f)), { save: false });
      } catch (e) {
        this.audit(audit.policyRefused(`saved policy ${f} refused: ${(e as Error).message}`));
      }
    }
    this.expireGrants();
  }

  /** Never throws: a record that cannot be written is held or counted (audit/log.ts). */
  audit(entry: audit.AuditEntry): void {
    this.auditLog.write(entry);
  }

  /**
   * Register a sandbox or reload its policy. Resolves once the new version is the one every new
   * request sees; open flows the new policy no longer allows are closed before it resolves.
   */
  async applyPolicy(
    bytes: Uint8Array,
    opts: { save?: boolean; sandbox?: string } = {},
  ): Promise<{ socketPath: string; policyVersion: string; closed: number }> {
    const state = this.preparePolicy(bytes, opts.sandbox); // throws PolicyError: the old policy stays in force
    if (opts.save !== false) writeFileAtomic(join(this.policiesDir, `${state.loaded.policy.sandbox}.json`), bytes, { mode: 0o600 });
    return this.installPolicy(state);
  }

  /**
   * Many policy changes at once (an apply registering or removing the policies of many sandboxes):
   * each is checked on its own, the new policy files are written together (one directory fsync),
   * then each is put in force. One refused policy fails only its own result.
   */
  async applyPolicies(ops: PolicyOp[]): Promise<PolicyOpResult[]> {
    const names = ops.map((o) => o.sandbox);
    if (new Set(names).size !== names.length) {
      // The same sandbox twice: in order, one at a time (rare; never from apply).
      const out: PolicyOpResult[] = [];
      for (const o of ops) out.push(await this.applyPolicyOp(o));
      return out;
    }
    const prepared = ops.map((o): PolicyState | Error | null => {
      if (!('egress' in o)) return null;
      try {
        return this.preparePolicy(o.egress, o.sandbox);
      } catch (e) {
        return e as Error;
      }
    });
    const saves = ops.flatMap((o, i) => {
      const st = prepared[i];
      return 'egress' in o && st && !(st instanceof Error) ? [[`${o.sandbox}.json`, o.egress] as [string, Uint8Array]] : [];
    });
    let saveError: Error | null = null;
    if (saves.length)
      await writeFilesAtomicAsync(this.policiesDir, saves, { mode: 0o600 }).catch((e: Error) => {
        saveError = e;
      });
    return Promise.all(
      ops.map(async (o, i): Promise<PolicyOpResult> => {
        try {
          const st = prepared[i] as PolicyState | Error | null;
          if (st instanceof Error) throw st;
          if (st === null) return { sandbox: o.sandbox, ok: true, removed: await this.unregister(o.sandbox) };
          if (saveError) throw saveError;
          return { sandbox: o.sandbox, ok: true, ...(await this.installPolicy(st)) };
        } catch (e) {
          return { sandbox: o.sandbox, ok: false, error: (e as Error).message, policyError: e instanceof PolicyError };
        }
      }),
    );
  }

  private async applyPolicyOp(o: PolicyOp): Promise<PolicyOpResult> {
    try {
      if (!('egress' in o)) return { sandbox: o.sandbox, ok: true, removed: await this.unregister(o.sandbox) };
      return { sandbox: o.sandbox, ok: true, ...(await this.applyPolicy(o.egress, { sandbox: o.sandbox })) };
    } catch (e) {
      return { sandbox: o.sandbox, ok: false, error: (e as Error).message, policyError: e instanceof PolicyError };
    }
  }

  /** Parse and check a policy (throws PolicyError); nothing changes yet. */
  private preparePolicy(bytes: Uint8Array, sandbox?: string): PolicyState {
    const loaded = parsePolicy(bytes);
    if (loaded.policy.inference) {
      if (!this.opts.inference) throw new PolicyError('this gateway has no inference router');
      try {
        this.opts.inference.check(loaded.policy.inference);
      } catch (e) {
        throw new PolicyError(`inference: ${(e as Error).message}`);
      }
    }
    if (sandbox !== undefined && loaded.policy.sandbox !== sandbox)
      throw new PolicyError(`policy is for sandbox ${loaded.policy.sandbox}, not ${sandbox}`);
    return { loaded, index: new PolicyIndex(loaded.policy) };
  }

  /** Put a prepared policy in force: a new sandbox gets its socket, a known one swaps. */
  private async installPolicy(state: PolicyState): Promise<{ socketPath: string; policyVersion: string; closed: number }> {
    const { loaded } = state;
    const name = loaded.policy.sandbox;
    let entry = this.sandboxes.get(name);
    if (!entry) {
      const socketPath = this.layout.sandboxSocket(name);
      entry = { name, socketPath, servers: [], state, active: 0, total: 0, denied: 0, flows: new Set() };
      const server = createProxyServer(this, name);
      mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
      if (existsSync(socketPath)) unlinkSync(socketPath);
      await listen(server, { path: socketPath });
      chmodSync(socketPath, 0o600);
      // Whoever owns the sandbox's socket directory may connect: root for the embedded runtime's
      // relay, the sandbox uid when a driver handed the directory to a container.
      const owner = statSync(dirname(socketPath));
      chownSync(socketPath, owner.uid, owner.gid);
      entry.servers.push(server);
      this.sandboxes.set(name, entry);
      this.audit(audit.policyRegistered(name, loaded.version));
      this.opts.onPolicy?.(name, loaded.policy);
      return { socketPath, policyVersion: loaded.version, closed: 0 };
    }
    const previous = entry.state.loaded.version;
    entry.state = state;
    const lapsed = this.approvals.onReload(name);
    for (const a of lapsed) this.auditApproval(a, 'expired', 'gateway', 'superseded by policy reload');
    const closed = this.recheckFlows(entry, 'policy_reload');
    this.audit(audit.policyReloaded(name, loaded.version, `from ${previous}; closed ${closed} flows`));
    this.opts.onPolicy?.(name, loaded.policy);
    return { socketPath: entry.socketPath, policyVersion: loaded.version, closed };
  }

  /** Debug/test listener: a loopback TCP port whose connections count as the named sandbox's. */
  async listenTcp(sandbox: string, host: string, port: number): Promise<number> {
    if (host !== '127.0.0.1' && host !== '::1') throw new PolicyError('--listen-tcp only binds 127.0.0.1 or ::1');
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(sandbox)) throw new PolicyError('--sandbox must be a sandbox name');
    const server = createProxyServer(this, sandbox);
    await listen(server, { host, port });
    const actual = (server.address() as { port: number }).port;
    this.tcpListeners.push({ sandbox, host, port: actual, server });
    return actual;
  }

  async unregister(name: string): Promise<boolean> {
    const entry = this.sandboxes.get(name);
    rmSync(join(this.policiesDir, `${name}.json`), { force: true });
    if (!entry) return false;
    this.sandboxes.delete(name);
    this.pool.closeSandbox(name);
    for (const f of [...entry.flows]) f.close('shutdown');
    await Promise.all(entry.servers.map((s) => closeServer(s)));
    rmSync(entry.socketPath, { force: true });
    this.audit(audit.policyUnregistered(name));
    this.opts.onPolicy?.(name, null);
    return true;
  }

  status(): GatewayStatus {
    return {
      pid: process.pid,
      started_at: this.startedAt,
      test_hooks: this.testHookNames,
      audit: this.auditLog.health(),
      sandboxes: [...this.sandboxes.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((e) => ({
          name: e.name,
          policy_version: e.state.loaded.version,
          socket: e.socketPath,
          tcp: this.tcpListeners.filter((l) => l.sandbox === e.name).map(({ host, port }) => ({ host, port })),
          connections: { active: e.active, total: e.total, denied: e.denied, flows: e.flows.size },
        })),
    };
  }

  // ── ProxyContext ─────────────────────────────────────────────────────────────────────────────

  connectionOpened(sandbox: string): boolean {
    this.idle.opened();
    const e = this.sandboxes.get(sandbox);
    if (!e) return true; // counted nowhere; authorize() refuses it
    e.active++;
    e.total++;
    return e.active <= this.limits.maxConnections;
  }
  connectionClosed(sandbox: string): void {
    this.idle.closed();
    const e = this.sandboxes.get(sandbox);
    if (e && e.active > 0) e.active--;
  }
  denied(sandbox: string): void {
    const e = this.sandboxes.get(sandbox);
    if (e) e.denied++;
  }
  addFlow(f: Flow): void {
    this.sandboxes.get(f.sandbox)?.flows.add(f);
  }
  removeFlow(f: Flow): void {
    this.sandboxes.get(f.sandbox)?.flows.delete(f);
  }

  inference(sandbox: string, req: IncomingMessage, res: ServerResponse): void {
    const entry = this.sandboxes.get(sandbox);
    const route = entry?.state.loaded.policy.inference;
    if (!entry || !route || !this.opts.inference) {
      const d: Denial = {
        sandbox,
        host: '',
        port: 0,
        reason: 'bad_request',
        detail: `sandbox ${sandbox} has no inference route (add inference: to it in nemoclaw.yaml); for other hosts this is a proxy`,
        ...(entry ? { policy_version: entry.state.loaded.version } : {}),
      };
      const body = denialBody(d);
      res.writeHead(statusFor(d.reason), { 'content-type': 'application/json', 'x-nemoclaw-deny': d.reason, connection: 'close' });
      res.end(body);
      req.resume();
      return;
    }
    this.opts.inference.handle({ sandbox, policyVersion: entry.state.loaded.version, route }, req, res);
  }

  /** CONNECT inference.local:80: the tunnel's bytes are plain HTTP to the router. */
  inferenceTunnel(sandbox: string, port: number, socket: Socket, head: Buffer): void {
    if (port !== 80) {
      socket.end(
        rawDenial({
          sandbox,
          host: 'inference.local',
          port,
          reason: 'protocol_mismatch',
          detail: 'inference.local speaks plain HTTP on port 80',
        }),
      );
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    this.tunnelSandbox.set(socket, sandbox);
    this.tunnelServer.emit('connection', socket);
    socket.resume();
  }

  async authorize(sandbox: string, target: Target, kind: RequestKind, method?: string, rawPath?: string): Promise<Authz> {
    const entry = this.sandboxes.get(sandbox);
    const base = { sandbox, host: target.host, port: target.port };
    if (!entry) return { ok: false, denial: { ...base, reason: 'sandbox_unknown', detail: `sandbox ${sandbox} has no policy` } };
    // Fail closed: a flow that cannot be audited is not opened. Open flows are not cut; their
    // records wait in the log's backlog. Requests flow again once a retried write succeeds.
    // The sandbox is told the errno only, never the host path the error message may carry.
    const auditFailure = this.auditLog.failureCode();
    if (auditFailure !== undefined)
      return { ok: false, denial: { ...base, reason: 'audit_unavailable', detail: `the audit log cannot be written (${auditFailure})` } };
    const { loaded, index } = entry.state; // one snapshot for the whole decision
    const deny = (reason: Denial['reason'], detail: string, extra: Partial<Denial> = {}): Authz => ({
      ok: false,
      denial: { ...base, reason, detail, policy_version: loaded.version, ...extra },
    });
    const guardOpts = { allowedIps: loaded.allowedIps, resolver: this.resolver, allowLoopback: this.allowLoopback };

    if (target.ipLiteral) {
      const cat = checkAddress(target.host, guardOpts);
      if (cat) return deny('ssrf_blocked', `${target.host} is a ${cat} address`);
      return deny('ip_literal', 'rules name hosts; a bare IP address never matches one');
    }
    let path: string | undefined;
    if (kind === 'http') {
      path = matchablePath(rawPath ?? '');
      if (path === undefined) return deny('ambiguous_path', 'path has dot segments, encoded slashes or backslashes');
    }
    const m = index.match({ host: target.host, port: target.port, kind, method, path });
    let rule: string;
    const inspect = m.allowed && m.inspect === true;
    if (m.allowed) {
      rule = m.rule;
    } else {
      const grant = this.approvals.grantFor(sandbox, target.host, target.port);
      if (grant) {
        rule = `approval:${grant.id}`;
      } else {
        const refused = this.approvals.deniedFor(sandbox, target.host, target.port);
        if (refused) return deny('approval_denied', `an operator refused ${target.host}:${target.port}`, { approval_id: refused.id });
        if (loaded.policy.on_deny === 'ask' && ASKABLE.has(m.reason)) {
          const a = this.approvals.recordDenial(sandbox, target.host, target.port, kind);
          if (a?.hits === 1) this.auditApproval(a, 'queued', 'gateway');
          return deny(m.reason, `${m.detail}; queued for approval`, a ? { approval_id: a.id } : {});
        }
        return deny(m.reason, m.detail);
      }
    }
    const g = await guard(target.host, false, guardOpts);
    if (!g.ok) {
      return g.reason === 'ssrf_blocked'
        ? deny('ssrf_blocked', `${target.host} resolves to ${g.address}, a ${g.category} address`)
        : deny('resolve_failed', `cannot resolve ${target.host}: ${g.detail}`);
    }
    return { ok: true, addresses: g.addresses, rule, policyVersion: loaded.version, ...(inspect ? { inspect } : {}) };
  }

  // ── Approvals ─────────────────────────────────────────────────────────────────────────────────

  approve(id: string, o: { ttlMs: number | null; actor: string; reason?: string; persisted?: boolean }): Approval {
    const a = this.approvals.approve(id, o);
    this.auditApproval(a, o.persisted ? 'approved_persist' : 'approved', o.actor, o.reason);
    this.expireGrants();
    return a;
  }

  deny(id: string, o: { actor: string; reason?: string }): Approval {
    const a = this.approvals.deny(id, o);
    this.auditApproval(a, 'denied', o.actor, o.reason);
    const entry = this.sandboxes.get(a.sandbox);
    if (entry) this.recheckFlows(entry, 'grant_expired');
    return a;
  }

  private auditApproval(a: Approval, what: audit.ApprovalEvent, actor: string, reason?: string): void {
    this.audit(
      audit.approval({
        sandbox: a.sandbox,
        dst: { hostname: a.host, port: a.port },
        approval_id: a.id,
        actor: { user: actor },
        detail: what,
        reason: reason || undefined,
        expires_at: a.expires_at || undefined,
      }),
    );
  }

  /** Lapse grants whose TTL passed, close what they carried, and arm the timer for the next one. */
  private expireGrants(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const lapsed = this.approvals.expire();
    for (const a of lapsed) {
      this.auditApproval(a, 'expired', 'gateway', 'ttl');
      const entry = this.sandboxes.get(a.sandbox);
      if (entry) this.recheckFlows(entry, 'grant_expired');
    }
    const next = this.approvals.nextExpiry();
    if (next !== undefined) {
      this.expiryTimer = setTimeout(() => this.expireGrants(), Math.min(Math.max(0, next - Date.now()) + 5, 2 ** 31 - 1));
      this.expiryTimer.unref();
    }
  }

  /** Close the open flows the current policy and grants no longer allow. */
  private recheckFlows(entry: SandboxEntry, reason: 'policy_reload' | 'grant_expired'): number {
    const { loaded, index } = entry.state;
    // Idle pooled connections carry no request: close them all rather than judge each; any
    // request still allowed opens a fresh one.
    this.pool.closeSandbox(entry.name);
    let closed = 0;
    for (const f of [...entry.flows]) {
      const m = index.match({
        host: f.target.host,
        port: f.target.port,
        kind: f.kind,
        method: f.method,
        path: f.path && matchablePath(f.path),
      });
      const allowed = m.allowed || this.approvals.grantFor(entry.name, f.target.host, f.target.port) !== undefined;
      const addressOk = checkAddress(f.address, { allowedIps: loaded.allowedIps, allowLoopback: this.allowLoopback }) === undefined;
      if (!allowed || !addressOk) {
        f.close(reason);
        closed++;
      }
    }
    return closed;
  }

  /** Close everything, flush the audit and approvals. */
  async stop(): Promise<void> {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const entries = [...this.sandboxes.values()];
    for (const e of entries) {
      this.pool.closeSandbox(e.name);
      for (const f of [...e.flows]) f.close('shutdown');
    }
    await Promise.all([...entries.flatMap((e) => e.servers), ...this.tcpListeners.map((l) => l.server)].map((s) => closeServer(s)));
    this.tcpListeners.length = 0;
    for (const e of entries) rmSync(e.socketPath, { force: true });
    this.sandboxes.clear();
    this.audit(audit.lifecycle('stop', 'gateway stopped'));
    try {
      this.approvals.saveSync();
    } catch (e) {
      // A full disk must not keep the daemon from stopping; the loss is recorded if it still can be.
      this.audit(audit.lifecycle('error', `approvals not saved at stop: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
    }
    this.auditLog.close();
  }

  flushAudit(): void {
    this.auditLog.flushSync();
  }
}

function listen(server: Server, opts: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...opts, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    for (const s of acceptedSockets.get(server) ?? []) s.destroy();
  });
}
