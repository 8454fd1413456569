// nemoclaw run: compile, start one sandbox in the foreground (embedded runtime or Docker), exit
// with the agent's exit code. The gateway policy it registers lives exactly as long as the run.
import type { CAC } from 'cac';
import { loadCompile } from '../../pipeline/pipeline.js';
import { UserError } from '../../util/errors.js';
import { formatSummary, probeHost, startSandbox } from '../../runtime/process/index.js';
import { formatBytes } from '../../runtime/exit-reason.js';
import { StateStore } from '../../state/store.js';
import { resolveStateDir } from '../../state/paths.js';
import { auditDegraded, isGatewayRunning, probeGateway, registerSandbox, unregisterSandbox } from '../../daemon/client.js';
import { notEnforced } from '../../init-protocol/report.js';
import type { DesiredSandbox } from '../../state/types.js';
import { command } from '../run-command.js';
import { bold, red, yellow } from '../views/style.js';

interface RunOptions {
  file: string;
  stateDir?: string;
  '--'?: string[];
}

interface Started {
  wait(): Promise<{ code: number; oomKilled: boolean; reason: string }>;
  stop(): Promise<unknown>;
}

async function startProcess(sb: DesiredSandbox, stateDir: string, cmd: string[] | undefined): Promise<Started> {
  const name = sb.name;
  const err = process.stderr;
  const run = await startSandbox({ artifacts: sb.artifacts, stateDir, command: cmd });
  err.write(bold(formatSummary(run.report, run.seccomp.ruleCount), err) + '\n');
  for (const w of run.warnings) err.write(yellow(`${name}: warning: ${w}`, err) + '\n');
  if (run.gateway && !run.gateway.running) {
    err.write(
      yellow(`${name}: gateway not running (no socket at ${run.gateway.socket}): the sandbox has NO network until it starts`, err) + '\n',
    );
  }
  return { wait: () => run.wait(), stop: () => run.stop() };
}

async function startDocker(sb: DesiredSandbox, stateDir: string, cmd: string[] | undefined): Promise<Started> {
  // dockerode is slow to load: only for a docker sandbox.
  const { runForeground } = await import('../../reconciler/drivers/docker.js');
  const artifacts = cmd ? { ...sb.artifacts, sandbox: { ...sb.artifacts.sandbox, command: cmd } } : sb.artifacts;
  const c = await runForeground(stateDir, { ...sb, artifacts }, process.stdout, process.stderr);
  const err = process.stderr;
  const ll = c.report?.landlock.enforced ? `Landlock ABI ${c.report.landlock.abi}` : 'NO LANDLOCK';
  // As root: the agent's own user namespace over the sandbox's host id range, its filter on Docker's.
  const sc =
    c.report?.host_uid !== undefined
      ? `seccomp (Docker's + the agent's own), uid ${c.report.uid} (host ${c.report.host_uid})`
      : 'seccomp (Docker)';
  err.write(
    bold(
      `${sb.name}: container ${c.id.slice(0, 12)}: ${ll}, ${sc}, memory <= ${formatBytes(sb.artifacts.sandbox.limits.memory_bytes)}`,
      err,
    ) + '\n',
  );
  // best_effort is loud here too: on the terminal, and in the audit log when a gateway runs.
  const missing = c.report ? notEnforced(c.report) : [];
  for (const m of missing) err.write(red(`${sb.name}: NOT ENFORCED (best_effort): ${m}`, err) + '\n');
  if (missing.length > 0 && (await isGatewayRunning(stateDir))) await auditDegraded(stateDir, sb.name, missing);
  return { wait: () => c.wait(), stop: () => c.stop() };
}

export function register(cli: CAC): void {
  cli
    .command('run <sandbox>', 'Run one sandbox in the foreground (embedded runtime or Docker); `-- cmd args` replaces its command')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--state-dir <dir>', 'State directory (default: /var/lib/nemoclaw as root, else $XDG_STATE_HOME/nemoclaw)')
    .action(
      command(async (name: string, opts: RunOptions) => {
        const stateDir = resolveStateDir(opts.stateDir);
        // Started before compiling, which keeps this thread busy meanwhile: the kernel probe (a
        // child process) and the gateway's health check. Neither rejects; both are cached answers.
        void probeHost();
        const gatewayProbe = probeGateway(stateDir);
        const c = await loadCompile(opts.file);
        const compiled = c.output.sandboxes.find((s) => s.name === name);
        if (!compiled) {
          const have = c.output.sandboxes.map((s) => s.name).join(', ') || 'none';
          throw new UserError(`no sandbox "${name}" in ${opts.file} (sandboxes: ${have})`);
        }
        // An applied sandbox of the same name owns the gateway policy and the state paths of that
        // name: a foreground run would replace its policy, then remove it on exit.
        if (new StateStore(stateDir).readInventory().sandboxes[name]) {
          throw new UserError(`sandbox "${name}" is applied in ${stateDir}; destroy it first, or run it under another name or --state-dir`);
        }
        const err = process.stderr;
        // With a gateway running, register this sandbox's policy first: that creates its socket
        // before the init starts. Without one, the sandbox has no network (said below), never direct network.
        let policy: string | null = null;
        if (compiled.artifacts.sandbox.network.mode === 'gateway' && (await gatewayProbe).state === 'running') {
          policy = (await registerSandbox(stateDir, name, Buffer.from(compiled.files['egress.json']))).policyVersion;
        }
        const cmd = opts['--']?.length ? opts['--'].map(String) : undefined;
        try {
          const sb =
            compiled.artifacts.sandbox.runtime === 'docker'
              ? await startDocker(compiled, stateDir, cmd)
              : await startProcess(compiled, stateDir, cmd);
          if (compiled.artifacts.sandbox.network.mode !== 'gateway') err.write(`${name}: network: none (no egress rules)\n`);
          else if (policy) err.write(`${name}: egress through the gateway, policy ${policy.slice(0, 19)}…\n`);
          const stop = () => void sb.stop();
          for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);
          const st = await sb.wait();
          if (st.code !== 0 || st.oomKilled) err.write((st.oomKilled ? red(`${name}: ${st.reason}`, err) : `${name}: ${st.reason}`) + '\n');
          return st.code;
        } finally {
          // The policy was this run's: left registered, status would show a sandbox "down" and
          // "not in the inventory" that destroy --all cannot clear.
          if (policy) await unregisterSandbox(stateDir, name).catch(() => undefined);
        }
      }),
    );
}
