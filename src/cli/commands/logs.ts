// nemoclaw logs: the agent's output, as the supervisor keeps it (STATE/sandboxes/<name>/logs).
import type { CAC } from 'cac';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { UserError } from '../../util/errors.js';
import { command } from '../run-command.js';
import { openStore } from '../reconcile-ui.js';

interface Opts {
  follow?: boolean;
  tail?: number | string;
  stateDir?: string;
}

function readRange(path: string, from: number, to: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function register(cli: CAC): void {
  cli
    .command('logs <sandbox>', "A sandbox's output (stdout and stderr of its agent)")
    .option('--follow', 'Keep printing new output (Ctrl-C to stop)')
    .option('-n, --tail <lines>', 'Only the last N lines', { default: 200 })
    .option('--state-dir <dir>', 'State directory')
    .action(
      command(async (name: string, opts: Opts) => {
        const store = openStore(opts.stateDir);
        const entry = store.readInventory().sandboxes[name];
        if (!entry) throw new UserError(`no sandbox "${name}" in the inventory`, [], 1);
        if (entry.runtime === 'docker') return dockerLogs(name, entry.driver.id, Number(opts.tail), opts.follow === true);
        const path = store.layout.logFile(name);
        const size = existsSync(path) ? statSync(path).size : 0;
        const tail = Number(opts.tail);
        // The tail of a large log only needs its last bytes: read at most 1 MiB back.
        const from = Math.max(0, size - 1024 * 1024);
        if (size > 0) {
          const lines = readRange(path, from, size).toString('utf8').split('\n');
          if (lines.at(-1) === '') lines.pop();
          process.stdout.write(
            lines.slice(Number.isFinite(tail) && tail >= 0 ? -tail || lines.length : 0).join('\n') + (lines.length ? '\n' : ''),
          );
        }
        if (!opts.follow) return 0;
        let pos = size;
        await new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            const now = existsSync(path) ? statSync(path).size : 0;
            if (now < pos) pos = 0; // rotated at a restart
            if (now > pos) {
              process.stdout.write(readRange(path, pos, now));
              pos = now;
            }
          }, 200);
          process.once('SIGINT', () => {
            clearInterval(timer);
            resolve();
          });
          process.once('SIGTERM', () => {
            clearInterval(timer);
            resolve();
          });
        });
        return 0;
      }),
    );
}

/** Docker keeps a container's output itself: stream it from the engine by the recorded id. */
async function dockerLogs(name: string, id: string | null, tail: number, follow: boolean): Promise<number> {
  if (!id) throw new UserError('no container id recorded for this sandbox (run apply)', [], 1);
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const c = docker.getContainer(id);
  const opts = { stdout: true, stderr: true, tail: Number.isFinite(tail) ? tail : 200 };
  if (!follow) {
    const buf = await c.logs({ ...opts, follow: false });
    const out = new PassThrough();
    const err = new PassThrough();
    out.pipe(process.stdout);
    err.pipe(process.stderr);
    docker.modem.demuxStream(Readable.from([buf]), out, err);
    await new Promise((r) => setImmediate(r));
    // Docker keeps an OOM kill in the container's state, not in its output: say it where the output stops.
    const info = await c.inspect();
    if (!info.State.Running && info.State.OOMKilled) {
      const { containerExitReason } = await import('../../reconciler/drivers/docker.js');
      process.stderr.write(`nemoclaw: ${name}: ${containerExitReason(info)}\n`);
    }
    return 0;
  }
  const stream = await c.logs({ ...opts, follow: true });
  docker.modem.demuxStream(stream, process.stdout, process.stderr);
  await new Promise<void>((resolve) => {
    stream.on('end', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  return 0;
}
