// nemoclaw run: compile, start one sandbox in the foreground, exit with the agent's exit code.
import type { CAC } from 'cac';
import { loadCompile } from '../../pipeline/pipeline.js';
import { UserError } from '../../util/errors.js';
import { formatSummary, startSandbox } from '../../runtime/process/index.js';
import { resolveStateDir } from '../../state/paths.js';
import { isGatewayRunning, registerSandbox } from '../../daemon/client.js';
import { command } from '../run-command.js';
import { bold, yellow } from '../views/style.js';

interface RunOptions {
  file: string;
  stateDir?: string;
  '--'?: string[];
}

export function register(cli: CAC): void {
  cli
    .command('run <sandbox>', 'Run one sandbox in the foreground (embedded runtime); `-- cmd args` replaces its command')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--state-dir <dir>', 'State directory (default: /var/lib/nemoclaw as root, else $XDG_STATE_HOME/nemoclaw)')
    .action(
      command(async (name: string, opts: RunOptions) => {
        const c = await loadCompile(opts.file);
        const compiled = c.output.sandboxes.find((s) => s.name === name);
        if (!compiled) {
          const have = c.output.sandboxes.map((s) => s.name).join(', ') || 'none';
          throw new UserError(`no sandbox "${name}" in ${opts.file} (sandboxes: ${have})`);
        }
        if (compiled.artifacts.sandbox.runtime !== 'process') {
          throw new UserError(
            `sandbox "${name}" uses runtime ${compiled.artifacts.sandbox.runtime}; nemoclaw run starts process sandboxes only`,
          );
        }
        const stateDir = resolveStateDir(opts.stateDir);
        // With a gateway running, register this sandbox's policy first: that creates its socket
        // before the init starts. Without one, the sandbox has no network (said below), never direct network.
        let policy: string | null = null;
        if (compiled.artifacts.sandbox.network.mode === 'gateway' && (await isGatewayRunning(stateDir))) {
          policy = (await registerSandbox(stateDir, name, Buffer.from(compiled.files['egress.json']))).policyVersion;
        }
        const sb = await startSandbox({
          artifacts: compiled.artifacts,
          stateDir,
          command: opts['--']?.length ? opts['--'].map(String) : undefined,
        });
        const err = process.stderr;
        err.write(bold(formatSummary(sb.report, sb.seccomp.ruleCount), err) + '\n');
        for (const w of sb.warnings) err.write(yellow(`${name}: warning: ${w}`, err) + '\n');
        if (!sb.gateway) err.write(`${name}: network: none (no egress rules)\n`);
        else if (policy) err.write(`${name}: egress through the gateway, policy ${policy.slice(0, 19)}…\n`);
        else if (!sb.gateway.running) {
          err.write(
            yellow(`${name}: gateway not running (no socket at ${sb.gateway.socket}): the sandbox has NO network until it starts`, err) +
              '\n',
          );
        }
        const stop = () => void sb.stop();
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);
        const { code } = await sb.wait();
        return code;
      }),
    );
}
