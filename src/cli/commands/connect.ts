// nemoclaw connect <sandbox> [-- cmd...]: a shell or a command inside a RUNNING sandbox, with the
// agent's namespaces, root, uid, Landlock and seccomp (src/reconciler/connect.ts).
import type { CAC } from 'cac';
import { connectSandbox } from '../../reconciler/connect.js';
import { command } from '../run-command.js';
import { openStore } from '../reconcile-ui.js';

interface Opts {
  stateDir?: string;
  '--'?: string[];
}

export function register(cli: CAC): void {
  cli
    .command('connect <sandbox>', 'A shell (or `-- cmd args`) inside a running sandbox, confined exactly as its agent; a pty on a terminal')
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (name: string, opts: Opts) => {
        const { exited } = await connectSandbox(openStore(opts.stateDir), name, (opts['--'] ?? []).map(String));
        // The command owns the terminal: ^C and friends are its to handle, not ours.
        for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const) process.on(sig, () => undefined);
        return exited;
      }),
    );
}
