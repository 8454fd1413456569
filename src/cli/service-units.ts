// The files `nemoclaw service install` writes: systemd units for the gateway daemon and a
// reconcile timer, or one cron.d file. Pure text from a few facts, so tests can check them.
import { UserError } from '../util/errors.js';
import { gatewayEnvDefaults, gatewayNodeFlags } from '../daemon/spawn.js';

export const MARKER = '# Installed by `nemoclaw service install`; `nemoclaw service uninstall` removes it.';
export const GATEWAY_UNIT = 'nemoclaw-gateway.service';
export const RECONCILE_UNIT = 'nemoclaw-reconcile.service';
export const RECONCILE_TIMER = 'nemoclaw-reconcile.timer';
export const CRON_FILE = 'nemoclaw';

export interface ServiceFacts {
  /** Absolute path of node and of bin/nemoclaw.js. */
  node: string;
  bin: string;
  stateDir: string;
  intervalMs: number;
}

/** systemd and cron split words on spaces; a path with one would need quoting rules of each. */
function word(s: string, what: string): string {
  if (!/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) throw new UserError(`${what} ${s} contains characters a unit file cannot carry as is`, [], 2);
  return s;
}

function command(f: ServiceFacts, args: string, nodeFlags: readonly string[] = []): string {
  const node = [word(f.node, 'node path'), ...nodeFlags].join(' ');
  return `${node} ${word(f.bin, 'nemoclaw path')} ${args} --state-dir ${word(f.stateDir, 'state directory')}`;
}

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

/** A calendar expression for intervals that divide an hour or a day evenly (wall-clock aligned, so Persistent= applies). */
function onCalendar(ms: number): string | null {
  const min = ms / 60_000;
  if (Number.isInteger(min) && min >= 1 && min < 60 && 60 % min === 0) return `*-*-* *:00/${min}:00`;
  const h = ms / 3_600_000;
  if (Number.isInteger(h) && h >= 1 && h < 24 && 24 % h === 0) return `*-*-* 00/${h}:00:00`;
  if (h === 24) return 'daily';
  return null;
}

export function systemdUnits(f: ServiceFacts): Record<string, string> {
  const cal = onCalendar(f.intervalMs);
  const jitter = Math.min(seconds(f.intervalMs / 5), 300);
  return {
    [GATEWAY_UNIT]: [
      MARKER,
      '[Unit]',
      'Description=nemoclaw gateway daemon (egress gateway, inference router, sandbox supervisor)',
      'Wants=network-online.target',
      'After=network-online.target docker.service',
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${command(f, 'gateway', gatewayNodeFlags)}`,
      ...Object.entries(gatewayEnvDefaults).map(([k, v]) => `Environment=${k}=${v}`),
      // The supervisor restores every sandbox in the inventory when the daemon starts.
      'Restart=always',
      'RestartSec=2s',
      'UMask=0077',
      'LimitNOFILE=65536',
      // Hardening that leaves sandbox creation working: the init needs root, namespaces (and
      // sethostname in its own UTS namespace), mounts, cgroups under /sys/fs/cgroup, Landlock and
      // seccomp, so no ProtectHostname, ProtectControlGroups, RestrictNamespaces, PrivateDevices
      // or MemoryDenyWriteExecute (node's JIT).
      'ProtectSystem=full',
      'ProtectHome=read-only',
      `ReadWritePaths=${word(f.stateDir, 'state directory')}`,
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectClock=yes',
      'RestrictRealtime=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n'),
    [RECONCILE_UNIT]: [
      MARKER,
      '[Unit]',
      'Description=nemoclaw reconcile: one tick of the GitOps loop',
      'Wants=network-online.target',
      // The sandboxes run under the gateway service; a daemon started by this oneshot would die with it.
      `Requires=${GATEWAY_UNIT}`,
      `After=network-online.target ${GATEWAY_UNIT}`,
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=${command(f, 'reconcile --once')}`,
      'UMask=0077',
      '',
    ].join('\n'),
    [RECONCILE_TIMER]: [
      MARKER,
      '[Unit]',
      `Description=Run nemoclaw reconcile every ${seconds(f.intervalMs)}s`,
      '',
      '[Timer]',
      ...(cal ? [`OnCalendar=${cal}`] : ['OnBootSec=1min', `OnUnitActiveSec=${seconds(f.intervalMs)}s`]),
      // Catch up after downtime, and spread hosts that follow the same repository.
      'Persistent=true',
      `RandomizedDelaySec=${jitter}s`,
      `Unit=${RECONCILE_UNIT}`,
      '',
      '[Install]',
      'WantedBy=timers.target',
      '',
    ].join('\n'),
  };
}

/** The five cron fields for an interval; only intervals cron can express evenly. */
export function cronSchedule(ms: number): string {
  const min = ms / 60_000;
  if (Number.isInteger(min) && min >= 1 && min < 60 && 60 % min === 0) return `*/${min} * * * *`;
  const h = ms / 3_600_000;
  if (Number.isInteger(h) && h >= 1 && h < 24 && 24 % h === 0) return `0 */${h} * * *`;
  if (h === 24) return '0 0 * * *';
  throw new UserError('--cron needs an interval cron can express: minutes dividing 60, hours dividing 24, or 1d', [], 2);
}

export function cronFile(f: ServiceFacts, lockFile: string, logFile: string): string {
  return [
    MARKER,
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    // The daemon restores every sandbox in the inventory when it starts.
    `@reboot root ${command(f, 'gateway --detach')}`,
    // flock -n: a tick still running makes the next one skip instead of piling up.
    `${cronSchedule(f.intervalMs)} root flock -n ${word(lockFile, 'lock file')} ${command(f, 'reconcile --once')} >> ${word(logFile, 'log file')} 2>&1`,
    '',
  ].join('\n');
}
