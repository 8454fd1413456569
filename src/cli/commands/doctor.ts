// nemoclaw doctor: what this host can enforce, and which example configs would run here.
import type { CAC } from 'cac';
import { doctor, type DoctorReport } from '../doctor.js';
import { command } from '../run-command.js';
import { resolveStateDir } from '../../state/paths.js';
import { green, printJson, red, yellow } from '../views/style.js';

const yes = (ok: boolean, text = ok ? 'yes' : 'no') => (ok ? green(text) : red(text));

function render(r: DoctorReport): string {
  const h = r.host;
  const k = h.kernel;
  const out: string[] = [`host: Linux ${h.kernelRelease}, ${k?.root ? 'running as root' : 'running unprivileged'}`];
  if (!k) out.push(red(`  sandbox init: ${h.probeError}`));
  else {
    const ll =
      k.landlock_abi > 0
        ? green(`ABI ${k.landlock_abi}`) +
          (k.landlock_abi < 4
            ? yellow(' (no TCP rules: below the default floor 4)')
            : k.landlock_abi < 6
              ? yellow(' (no signal/abstract-socket scoping)')
              : '')
        : red(`unavailable (errno ${k.landlock_errno})`);
    out.push(`  landlock        ${ll}`);
    out.push(
      `  seccomp         ${yes(k.seccomp)}; libseccomp ${h.libseccomp.ok ? green(h.libseccomp.version ?? 'yes') : red(String(h.libseccomp.error))}`,
    );
    out.push(
      `  user namespace  ${yes(k.userns)}; unprivileged ${yes(k.unprivileged_userns, k.unprivileged_userns ? 'allowed' : 'not allowed')}`,
    );
    out.push(`  mnt/pid/net ns  ${yes(k.mntns)}/${yes(k.pidns)}/${yes(k.netns)}`);
  }
  const cg = h.cgroups;
  out.push(
    `  cgroups         ${cg.version}: pids ${yes(cg.pids)}, memory ${yes(cg.memory)}, ${cg.writable ? green('writable') : yellow('not writable (pids via RLIMIT_NPROC, memory unenforced)')}`,
  );
  out.push(`  docker          ${r.docker.reachable ? green(`reachable (${r.docker.version})`) : yellow(`unreachable: ${r.docker.error}`)}`);
  const sd = r.state_dir;
  out.push(
    `  state dir       ${sd.path}: ${sd.state === 'writable' ? green(sd.state) : sd.state === 'absent' ? 'absent (created on first apply or run)' : red(sd.state)}`,
  );
  out.push(`embedded runtime: ${r.process_runtime_ready ? green('ready') : red('NOT ready for the default policy')}`);
  if (r.configs.length) out.push('configs:');
  for (const c of r.configs) {
    const what = c.sandbox ? `${c.file} ${c.sandbox} (${c.runtime})` : c.file;
    const v = c.verdict === 'runs' ? green('runs') : red(c.verdict);
    out.push(`  ${what}: ${v}`);
    for (const reason of c.reasons) out.push(`      ${red('-')} ${reason}`);
    for (const w of c.warnings) out.push(`      ${yellow('!')} ${w}`);
  }
  return out.join('\n') + '\n';
}

export function register(cli: CAC): void {
  cli
    .command('doctor', 'Show what this host can enforce and whether each example can run here (image, command, Node)')
    .option('--json', 'Machine-readable output')
    .option('--state-dir <dir>', 'State directory to check (default: /var/lib/nemoclaw as root, else $XDG_STATE_HOME/nemoclaw)')
    .action(
      command(async (opts: { json?: boolean; stateDir?: string }) => {
        const r = await doctor(resolveStateDir(opts.stateDir));
        if (opts.json) printJson(r);
        else process.stdout.write(render(r));
        return r.process_runtime_ready ? 0 : 1;
      }),
    );
}
