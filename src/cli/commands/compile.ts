// nemoclaw compile: write digest-pinned artifacts and print each sandbox's blueprint digest.
import type { CAC } from 'cac';
import { resolve } from 'node:path';
import { displayPath, loadCompile } from '../../pipeline/pipeline.js';
import { writeArtifacts } from '../../pipeline/write-artifacts.js';
import { serializeLock } from '../../lock/lock.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { command } from '../run-command.js';
import { dim, printJson } from '../views/style.js';

export function register(cli: CAC): void {
  cli
    .command('compile', 'Compile nemoclaw.yaml into per-sandbox artifacts')
    .option('-f, --file <file>', 'Config file', { default: 'nemoclaw.yaml' })
    .option('--out <dir>', 'Output directory', { default: '.nemoclaw-out' })
    .option('--update-lock', 'Write nemoclaw.lock for what the config uses now (review and commit it)')
    .option('--json', 'Machine-readable output')
    .action(
      command(async (opts: { file: string; out: string; updateLock?: boolean; json?: boolean }) => {
        const c = await loadCompile(opts.file, opts.updateLock ? 'update' : 'check');
        const lockUpdated = Boolean(opts.updateLock) && c.lockStale.length > 0;
        if (lockUpdated) writeFileAtomic(c.lockPath, serializeLock(c.neededLock));
        const out = resolve(String(opts.out));
        writeArtifacts(c.output, out);
        if (opts.json) {
          printJson({ out, lock: displayPath(c.lockPath), lock_updated: lockUpdated, sandboxes: c.output.index.sandboxes });
          return 0;
        }
        if (lockUpdated) process.stderr.write(`updated ${displayPath(c.lockPath)}:\n  - ${c.lockStale.join('\n  - ')}\n`);
        const width = Math.max(0, ...c.output.sandboxes.map((s) => s.name.length));
        for (const s of c.output.sandboxes) process.stdout.write(`${s.name.padEnd(width)}  ${s.digest}\n`);
        process.stderr.write(
          dim(
            `wrote ${c.output.sandboxes.length} sandbox${c.output.sandboxes.length === 1 ? '' : 'es'} to ${displayPath(out)}`,
            process.stderr,
          ) + '\n',
        );
        return 0;
      }),
    );
}
