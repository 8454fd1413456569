// The gateway as a process: pid file, control socket, signals, detaching, the test-hook switch.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { degraded, lifecycle } from '../audit/record.js';
import { syslogTarget, type SyslogTarget } from '../audit/syslog.js';
import { resolveStateDir, stateLayout } from '../state/paths.js';
import { createControlServer, listenControl } from './control.js';
import { Gateway } from '../gateway/gateway.js';
import { readAudit } from '../audit/log.js';
import { createRouter } from '../router/router.js';
import type { TestHooks } from '../gateway/ssrf.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { supervisorRoutes } from './supervisor-routes.js';
import { Publisher } from '../inbound/publisher.js';

export const TEST_ALLOW_LOOPBACK_ENV = 'NEMOCLAW_GATEWAY_TEST_ALLOW_LOOPBACK';

/**
 * The only way to relax the SSRF guard from outside the process. Production cannot be fooled by
 * accident: the variable's name says TEST, it must be exactly "1", it is refused for the system
 * state directory, it only ever relaxes loopback (never metadata, link-local or private ranges),
 * and when it is on the daemon prints a warning, reports it in `gateway status`, and stamps
 * "test_hooks": ["allow_loopback"] on every audit line.
 */
export function testHooksFromEnv(stateDir: string, env = process.env): TestHooks | undefined {
  if (env[TEST_ALLOW_LOOPBACK_ENV] !== '1') return undefined;
  if (stateDir === '/var/lib/nemoclaw') throw new Error(`${TEST_ALLOW_LOOPBACK_ENV} is refused for the system state directory`);
  return { allowLoopback: true };
}

export interface DaemonOptions {
  stateDir: string;
  listenTcp?: { host: string; port: number; sandbox: string };
  log?: (line: string) => void;
  /** Ship audit records to syslog; default from NEMOCLAW_AUDIT_SYSLOG(_FORMAT). */
  auditSyslog?: SyslogTarget;
}

/** NEMOCLAW_AUDIT_SYSLOG=1 (/dev/log) or a socket path; NEMOCLAW_AUDIT_SYSLOG_FORMAT=rfc3164|rfc5424. */
export function auditSyslogFromEnv(env = process.env): SyslogTarget | undefined {
  return syslogTarget(env.NEMOCLAW_AUDIT_SYSLOG, env.NEMOCLAW_AUDIT_SYSLOG_FORMAT);
}

export function pidFile(stateDir: string): string {
  return join(stateLayout(stateDir).gatewayDir, 'gateway.pid');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runningPid(stateDir: string): number | undefined {
  const f = pidFile(stateDir);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/**
 * Create the pid file exclusively (O_EXCL): of two daemons started at once for one state dir,
 * exactly one wins. A pid file left by a dead process is taken over.
 */
function claimPidFile(stateDir: string): void {
  const f = pidFile(stateDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(f, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = runningPid(stateDir);
      if (other !== undefined) throw new Error(`a gateway is already running for ${stateDir} (pid ${other})`);
      rmSync(f, { force: true });
    }
  }
  throw new Error(`cannot claim ${f}`);
}

/** Run in the foreground until SIGTERM/SIGINT or a shutdown call; resolves when stopped. */
export async function runDaemon(o: DaemonOptions): Promise<void> {
  // The log file may sit on the full disk too: a failed log write must not become an error of its own.
  process.stderr.on('error', () => {});
  const write = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const log = (l: string) => {
    try {
      write(l);
    } catch {
      // nowhere left to say it
    }
  };
  const stateDir = resolveStateDir(o.stateDir);
  const layout = stateLayout(stateDir);
  mkdirSync(layout.gatewayDir, { recursive: true, mode: 0o700 });
  claimPidFile(stateDir); // before anything else: two daemons racing for one state dir must not both run

  const testHooks = testHooksFromEnv(stateDir);
  if (testHooks) {
    log(
      `WARNING: ${TEST_ALLOW_LOOPBACK_ENV}=1: the SSRF guard lets sandboxes reach LOOPBACK addresses. For tests only; every audit line records it.`,
    );
  }
  // The inference router serves the model calls the gateway recognizes; its records go to the
  // gateway's audit log, and today's earlier records seed the token budgets across restarts.
  const router = createRouter({ audit: (r) => gw.audit(r), captureDir: layout.gatewayDir });
  router.seed(readAudit(layout.gatewayDir, { since: Date.parse(new Date().toISOString().slice(0, 10)) }));
  // Published ports follow each sandbox's live policy; their connections are audited like flows.
  const publisher = new Publisher({ socketDir: (name) => dirname(layout.sandboxSocket(name)), audit: (r) => gw.audit(r), log });
  const gw: Gateway = new Gateway({
    stateDir,
    testHooks,
    inference: router,
    onPolicy: (name, policy) => void publisher.configure(name, policy?.ports ?? []),
    auditSyslog: o.auditSyslog ?? auditSyslogFromEnv(),
    onAuditHealth: (h) =>
      log(
        h.writable
          ? 'gateway: audit log writable again; new flows are allowed'
          : `gateway: audit log cannot be written (${h.error}); refusing new flows until it can`,
      ),
  });
  await gw.start();
  if (o.listenTcp) {
    const port = await gw.listenTcp(o.listenTcp.sandbox, o.listenTcp.host, o.listenTcp.port);
    log(`gateway: debug TCP listener for sandbox ${o.listenTcp.sandbox} on ${o.listenTcp.host}:${port}`);
  }

  let stopping: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  // Embedded sandboxes live under the daemon (restart with backoff, logs); the runtime is loaded
  // on first use so a gateway without process sandboxes starts as fast as before.
  const supervisor = new Supervisor({
    stateDir,
    log,
    // From a worker thread: this loop serves every sandbox's egress and must not stop for each fork (launch.ts).
    start: async (so) => (await import('../runtime/process/start.js')).startSandbox({ ...so, offThread: true }),
    onDegraded: (name, missing) => gw.audit(degraded(name, missing)),
  });
  const control = createControlServer(gw, () => void stop(), supervisorRoutes(supervisor));
  const stop = () => {
    stopping ??= (async () => {
      control.close();
      control.closeAllConnections();
      await supervisor.stopAll();
      await publisher.stopAll();
      await gw.stop();
      router.close();
      rmSync(layout.controlSocket, { force: true });
      rmSync(pidFile(stateDir), { force: true });
      log('gateway: stopped');
      resolveDone();
    })();
    return stopping;
  };
  await listenControl(control, layout.controlSocket);
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  // A proxy must not die on one bad connection; anything that escapes is logged and audited.
  // Neither step may throw back in here: gw.audit() only queues (a failed audit write is held
  // and retried by the log itself, never raised), log() swallows its own errors, and a handler
  // re-entered while it runs returns at once. It used to audit the audit's own ENOSPC, in a loop.
  let handling = false;
  process.on('uncaughtException', (e) => {
    if (handling) return;
    handling = true;
    try {
      log(`gateway: internal error: ${e.stack ?? e.message}`);
      gw.audit(lifecycle('error', `internal error: ${e.message}`));
    } catch {
      // reported as far as possible
    } finally {
      handling = false;
    }
  });
  void supervisor.restore();
  log(`gateway: ready (pid ${process.pid}, control ${layout.controlSocket})`);
  await done;
}
