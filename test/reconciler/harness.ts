// Harness for the reconciler's integration tests: a config in a temp dir, the CLI run
// asynchronously (the loopback servers live in this process and must keep answering), status
// as JSON, and an orphan check over /proc.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stopGateway } from '../../src/daemon/client.js';
import { runningPid } from '../../src/daemon/daemon.js';
import { runCliAsync, type AsyncCliResult } from '../helpers/cli.js';
import { detachMountsUnder, makeTempDir } from '../helpers/tmp.js';

export function cli(args: string[], env: Record<string, string> = {}): Promise<AsyncCliResult> {
  return runCliAsync(args, { env });
}

export interface Env {
  dir: string;
  file: string;
  state: string;
  run: (...args: string[]) => Promise<AsyncCliResult>;
  write: (yaml: string) => Promise<void>;
}

/** A temp dir with nemoclaw.yaml and a state dir; the gateway daemon is stopped afterwards. */
export function env(t: TestContext): Env {
  // One hook, in this order: the daemon must be stopped while its socket and pid file still exist.
  const dir = makeTempDir('nemoclaw-rec-');
  const file = join(dir, 'nemoclaw.yaml');
  const state = join(dir, 'state');
  t.after(async () => {
    const pid = runningPid(state);
    await stopGateway(state).catch(() => {});
    if (pid && existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    detachMountsUnder(dir); // a docker sandbox's disk, mounted on the host while its container exists
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    file,
    state,
    run: (...args) => cli([...args, '--state-dir', state]),
    write: async (yaml) => {
      writeFileSync(file, yaml);
      const r = await cli(['compile', '-f', file, '--update-lock', '--out', join(dir, 'out')]);
      if (r.status !== 0) throw new Error(`compile failed: ${r.stderr}`);
    },
  };
}

export interface Sb {
  name: string;
  readWrite?: string[];
  egress?: { host: string; port: number }[];
  command?: string;
  protect?: boolean;
}

/** Every agent fetches each URL in a loop so tests can see what the gateway lets through. */
export function yaml(sbs: Sb[]): string {
  const out = ['version: 1', 'sandboxes:'];
  for (const s of sbs) {
    out.push(`  ${s.name}:`, '    runtime: process');
    out.push(`    command: [/bin/sh, -c, ${JSON.stringify(s.command ?? 'while true; do sleep 1; done')}]`);
    if (s.protect) out.push('    protect: true');
    out.push(
      '    filesystem:',
      '      read_only: [/usr, /bin, /lib, /lib64, /etc]',
      `      read_write: [${(s.readWrite ?? ['/tmp']).join(', ')}]`,
    );
    out.push('    process:', '      limits: { pids: 64, nofile: 256 }');
    if (s.egress?.length) {
      out.push('    network:', '      egress:', '        - name: local', '          endpoints:');
      for (const e of s.egress) out.push(`            - { host: ${e.host}, port: ${e.port}, protocol: http }`);
    }
  }
  return out.join('\n') + '\n';
}

/** GNU wget honours NO_PROXY=localhost; clearing it sends localhost through the gateway. */
export const fetchLoop = (ports: number[]) =>
  `while true; do ${ports.map((p) => `no_proxy= NO_PROXY= wget -q -T 2 -O /dev/null http://localhost:${p}/hit`).join('; ')}; sleep 0.2; done`;

export async function httpServer(t: TestContext): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((_q, s) => {
    hits++;
    s.end('ok\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { port: (server.address() as { port: number }).port, hits: () => hits };
}

export interface StatusRow {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  running_digest: string | null;
  applied_digest: string | null;
  policy_version: string | null;
  drift: { kind: string; detail: string }[];
}
export interface StatusJson {
  gateway: { running: boolean; pid: number | null };
  sandboxes: StatusRow[];
}

export async function status(e: Env): Promise<StatusJson> {
  const r = await e.run('status', '--json');
  if (r.status !== 0) throw new Error(`status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ppidOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * Processes that hold a file in the state directory open (every sandbox process does: its
 * output goes to the log there), minus the daemon, minus descendants of the given sandbox pids.
 * Anything left is an orphan.
 */
export function orphans(state: string, sandboxPids: number[], daemonPid: number | null): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid || pid === daemonPid) continue;
    let touches = false;
    try {
      for (const fd of readdirSync(`/proc/${d}/fd`)) {
        try {
          if (readlinkSync(`/proc/${d}/fd/${fd}`).startsWith(state + '/')) {
            touches = true;
            break;
          }
        } catch {
          /* closed */
        }
      }
    } catch {
      continue;
    }
    if (!touches) continue;
    let p = pid;
    let owned = false;
    for (let i = 0; i < 64 && p > 1; i++) {
      if (sandboxPids.includes(p)) {
        owned = true;
        break;
      }
      p = ppidOf(p);
    }
    if (!owned) out.push(pid);
  }
  return out;
}

/** Sockets the gateway has for sandboxes (one per registered sandbox). */
export function sandboxSockets(state: string): string[] {
  const dir = join(state, 'gateway', 'sandboxes');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => existsSync(join(dir, n, 'proxy.sock')))
        .sort()
    : [];
}

export function inventoryNames(state: string): string[] {
  const f = join(state, 'inventory.json');
  return existsSync(f) ? Object.keys((JSON.parse(readFileSync(f, 'utf8')) as { sandboxes: object }).sandboxes).sort() : [];
}
