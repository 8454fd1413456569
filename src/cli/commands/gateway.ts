// nemoclaw gateway: run the egress gateway (foreground or --detach), and status/stop/reload it.
import type { CAC } from 'cac';
import { readFileSync } from 'node:fs';
import { UserError } from '../../util/errors.js';
import { resolveStateDir } from '../../state/paths.js';
import type { GatewayStatus } from '../../gateway/gateway.js';
import {
  ensureGateway,
  gatewayStatus,
  isGatewayRunning,
  registerSandbox,
  reloadPolicy,
  stopGateway,
  unregisterSandbox,
} from '../../daemon/client.js';
import { auditSyslogFromEnv, runDaemon } from '../../daemon/daemon.js';
import { syslogTarget } from '../../audit/syslog.js';
import { parseDuration } from '../../util/duration.js';
import { command } from '../run-command.js';
import { bold, dim, printJson, red, yellow } from '../views/style.js';

interface Opts {
  stateDir?: string;
  detach?: boolean;
  listenTcp?: string;
  sandbox?: string;
  egress?: string;
  file?: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
  auditSyslog?: string;
  auditSyslogFormat?: string;
}

function parseListen(s: string): { host: string; port: number } {
  const m = /^(127\.0\.0\.1|\[::1\]|::1):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535)
    throw new UserError('--listen-tcp takes 127.0.0.1:PORT or [::1]:PORT (loopback only; 0 = any free port)', [], 2);
  return { host: m[1]!.replace(/[[\]]/g, ''), port: Number(m[2]) };
}

function readEgress(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [], 2);
  }
}

export function register(cli: CAC): void {
  cli
    .command('gateway [action]', 'Egress gateway: run it (default), or status | stop | reload | register | unregister')
    .option('--state-dir <dir>', 'State directory')
    .option('--detach', 'Run in the background (pid file and gateway.log in the state dir)')
    .option('--listen-tcp <addr>', 'Debug: also accept proxy requests on a loopback TCP port for --sandbox')
    .option('--sandbox <name>', 'Sandbox for --listen-tcp, unregister or reload')
    .option('--egress <file>', 'register/reload: a compiled egress.json')
    .option('-f, --file <file>', 'reload: compile this nemoclaw.yaml and reload every registered sandbox it defines')
    .option('--wait', 'reload: return once the gateway reports the new version as active')
    .option('--timeout <duration>', 'reload --wait: how long to wait', { default: '10s' })
    .option('--json', 'Machine-readable output')
    .option('--audit-syslog <socket>', 'Also send audit records to this syslog socket (1 = /dev/log); env NEMOCLAW_AUDIT_SYSLOG')
    .option('--audit-syslog-format <format>', 'rfc3164 (default) or rfc5424; env NEMOCLAW_AUDIT_SYSLOG_FORMAT')
    .action(
      command(async (action: string | undefined, opts: Opts) => {
        const stateDir = resolveStateDir(opts.stateDir);
        switch (action ?? 'run') {
          case 'run':
            return run(stateDir, opts);
          case 'status':
            return status(stateDir, opts);
          case 'stop': {
            const stopped = await stopGateway(stateDir);
            process.stdout.write(stopped ? 'gateway stopped\n' : 'gateway was not running\n');
            return 0;
          }
          case 'register': {
            if (!opts.egress) throw new UserError('gateway register needs --egress FILE', [], 2);
            await ensureGateway(stateDir);
            const r = await registerSandbox(stateDir, '' + JSON.parse(readEgress(opts.egress).toString()).sandbox, readEgress(opts.egress));
            if (opts.json) printJson(r);
            else process.stdout.write(`${r.socketPath}  ${r.policyVersion}\n`);
            return 0;
          }
          case 'unregister': {
            if (!opts.sandbox) throw new UserError('gateway unregister needs --sandbox NAME', [], 2);
            const removed = await unregisterSandbox(stateDir, opts.sandbox);
            process.stdout.write(removed ? `unregistered ${opts.sandbox}\n` : `${opts.sandbox} was not registered\n`);
            return 0;
          }
          case 'reload':
            return reload(stateDir, opts);
          default:
            throw new UserError(`unknown gateway action "${action}"; use status, stop, reload, register or unregister`, [], 2);
        }
      }),
    );
}

async function run(stateDir: string, opts: Opts): Promise<number> {
  const listen = opts.listenTcp ? parseListen(opts.listenTcp) : undefined;
  if (listen && !opts.sandbox) throw new UserError('--listen-tcp needs --sandbox NAME', [], 2);
  let auditSyslog;
  try {
    auditSyslog = opts.auditSyslog !== undefined ? syslogTarget(String(opts.auditSyslog), opts.auditSyslogFormat) : auditSyslogFromEnv();
  } catch (e) {
    throw new UserError((e as Error).message, [], 2);
  }
  if (opts.detach) {
    if (await isGatewayRunning(stateDir)) {
      process.stdout.write('gateway already running\n');
      return 0;
    }
    const extra = [
      ...(listen ? ['--listen-tcp', opts.listenTcp!, '--sandbox', opts.sandbox!] : []),
      ...(auditSyslog ? ['--audit-syslog', auditSyslog.path, '--audit-syslog-format', auditSyslog.format] : []),
    ];
    await ensureGateway(stateDir, 10_000, extra);
    const s = await gatewayStatus(stateDir);
    process.stdout.write(`gateway running (pid ${s.pid}), state ${stateDir}\n`);
    return 0;
  }
  try {
    await runDaemon({ stateDir, listenTcp: listen ? { ...listen, sandbox: opts.sandbox! } : undefined, auditSyslog });
  } catch (e) {
    throw new UserError((e as Error).message, [], 1);
  }
  return 0;
}

async function status(stateDir: string, opts: Opts): Promise<number> {
  if (!(await isGatewayRunning(stateDir))) {
    if (opts.json) printJson({ running: false });
    else process.stdout.write('gateway not running\n');
    return 3;
  }
  const s = await gatewayStatus(stateDir);
  if (opts.json) {
    printJson({ running: true, ...s });
    return 0;
  }
  process.stdout.write(`${bold('gateway')} pid ${s.pid}, up ${Math.round((Date.now() - s.started_at) / 1000)}s\n`);
  if (s.test_hooks.length)
    process.stdout.write(yellow(`WARNING: test hooks active: ${s.test_hooks.join(', ')} (SSRF guard relaxed)`) + '\n');
  process.stdout.write(auditLine(s.audit) + '\n');
  for (const sb of s.sandboxes) {
    const c = sb.connections;
    process.stdout.write(
      `  ${sb.name}  ${sb.policy_version}  active ${c.active}  total ${c.total}  denied ${c.denied}  flows ${c.flows}\n`,
    );
    process.stdout.write(dim(`    ${sb.socket}${sb.tcp.map((t) => `  tcp ${t.host}:${t.port}`).join('')}`) + '\n');
  }
  if (s.sandboxes.length === 0) process.stdout.write(dim('  no sandboxes registered') + '\n');
  return 0;
}

async function reload(stateDir: string, opts: Opts): Promise<number> {
  const timeout = parseDuration(opts.timeout ?? '10s');
  if (timeout === undefined) throw new UserError('--timeout must be a duration such as 10s', [], 2);
  if (!(await isGatewayRunning(stateDir))) throw new UserError('gateway not running; start it with `nemoclaw gateway --detach`');
  const policies: { name: string; bytes: Uint8Array }[] = [];
  if (opts.egress) {
    const bytes = readEgress(opts.egress);
    let name: unknown;
    try {
      name = JSON.parse(bytes.toString('utf8')).sandbox;
    } catch {
      throw new UserError(`${opts.egress} is not JSON`);
    }
    policies.push({ name: String(name), bytes });
  } else if (opts.file) {
    const { loadCompile } = await import('../../pipeline/pipeline.js');
    const c = await loadCompile(opts.file);
    const registered = new Set((await gatewayStatus(stateDir)).sandboxes.map((s) => s.name));
    for (const s of c.output.sandboxes) {
      if (opts.sandbox && s.name !== opts.sandbox) continue;
      if (!registered.has(s.name) && !opts.sandbox) continue; // reload does not create sandboxes: apply does
      policies.push({ name: s.name, bytes: Buffer.from(s.files['egress.json']) });
    }
    if (policies.length === 0) throw new UserError(`no registered sandbox of ${opts.file} to reload`);
  } else {
    throw new UserError('gateway reload needs --egress FILE or -f nemoclaw.yaml', [], 2);
  }
  const out = [];
  for (const p of policies) {
    const started = performance.now();
    const r = await (opts.wait ? reloadPolicy(stateDir, p.name, p.bytes, timeout) : registerSandbox(stateDir, p.name, p.bytes));
    out.push({
      sandbox: p.name,
      policy_version: r.policyVersion,
      closed_flows: r.closedFlows,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  }
  if (opts.json) printJson({ reloaded: out });
  else
    for (const o of out)
      process.stdout.write(
        `${o.sandbox}  ${o.policy_version}  active${o.closed_flows ? `, closed ${o.closed_flows} flow(s)` : ''} (${o.ms} ms)\n`,
      );
  return 0;
}

/** One line on the audit log's health, for `gateway status` and `status`. */
export function auditLine(a: GatewayStatus['audit']): string {
  const syslog = a.syslog
    ? `; syslog ${a.syslog.path} ${a.syslog.connected ? 'connected' : `not connected${a.syslog.error ? ` (${a.syslog.error})` : ''}`}, ${a.syslog.dropped} dropped`
    : '';
  if (a.writable) return dim(`  audit: writable${a.dropped ? `, ${a.dropped} records lost earlier` : ''}${syslog}`);
  return red(
    `  audit: CANNOT BE WRITTEN since ${new Date(a.since ?? 0).toISOString()}: ${a.error}; new flows are refused (audit_unavailable) until it can; ${a.backlog_bytes} bytes waiting, ${a.dropped} records lost${syslog}`,
  );
}
