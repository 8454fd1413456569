// nemoclaw image build|ls|rm|prune|dockerfile: sandbox images built from pinned Debian and npm
// packages without any image registry (src/image), kept in <state>/images/oci/built.
import type { CAC } from 'cac';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { resolveStateDir } from '../../state/paths.js';
import { UserError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { writeArchive } from '../../image/archive.js';
import { dockerLoad } from '../../image/docker-load.js';
import { buildImage, cacheDirFor } from '../../image/build.js';
import { loadImageDefinition } from '../../image/definition.js';
import { renderDockerfile } from '../../image/dockerfile.js';
import { ImageStore } from '../../image/store.js';
import { pinnedByInventory, usersOf } from '../../image/usage.js';
import { removeUnpackedRoot } from '../../runtime/process/image-root.js';
import { command } from '../run-command.js';

interface Opts {
  tag?: string;
  out?: string;
  load?: boolean;
  all?: boolean;
  check?: boolean;
  json?: boolean;
  stateDir?: string;
}

const ACTIONS = 'build <dir> | ls | rm <ref>... | prune [--all] | dockerfile <dir> [--check]';
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const short = (d: string): string => d.slice(0, 19);

function build(dir: string, opts: Opts, stateDir: string): Promise<number> | number {
  const started = Date.now();
  const r = buildImage(dir, { stateDir, tag: opts.tag, progress: (l) => process.stderr.write(`${l}\n`) });
  const cached = r.layers.filter((l) => l.cached).length;
  process.stderr.write(
    `built ${r.ref} (${r.layers.length} layers, ${cached} from cache, ${mib(r.size)}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  const store = ImageStore.open(stateDir);
  const image = store.find(r.digest)!;
  const finish = async (): Promise<number> => {
    let archive = opts.out ? resolve(opts.out) : undefined;
    let tmp: string | undefined;
    if (!archive && opts.load) {
      tmp = mkdtempSync(join(cacheDirFor(stateDir), 'load-'));
      archive = join(tmp, 'image.tar');
    }
    try {
      if (archive) writeArchive(store, image, r.ref, archive);
      if (opts.out) process.stderr.write(`wrote ${opts.out} (OCI layout + docker-archive)\n`);
      if (opts.load) process.stderr.write(`${await dockerLoad(archive!)} (image id ${r.config})\n`);
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    process.stdout.write(opts.json ? JSON.stringify(r) + '\n' : `${r.digest}\n`);
    return 0;
  };
  return finish();
}

function list(opts: Opts, stateDir: string): number {
  const store = ImageStore.open(stateDir);
  const pinned = pinnedByInventory(stateDir);
  const rows = store.list().map((i) => ({ ...i, used_by: usersOf(i, pinned) }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no images in ${store.dir}\n`);
    return 0;
  }
  const table = [
    ['REF', 'DIGEST', 'IMAGE ID', 'SIZE', 'USED BY'],
    ...rows.map((r) => [r.ref ?? '<none>', short(r.digest), short(r.config), mib(r.size), r.used_by.join(',') || '-']),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table)
    process.stdout.write(
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd() + '\n',
    );
  return 0;
}

function remove(refs: string[], stateDir: string): number {
  if (refs.length === 0) throw new UserError('name an image to remove (name:tag or digest)', [], 2);
  const store = ImageStore.open(stateDir);
  const pinned = pinnedByInventory(stateDir);
  const targets = refs.map((ref) => {
    const image = store.find(ref);
    if (!image) throw new UserError(`no image ${ref} in ${store.dir}`);
    const users = usersOf(image, pinned);
    if (users.length)
      throw new UserError(
        `image ${ref} is used by sandbox ${users.join(', ')}; destroy or update ${users.length > 1 ? 'them' : 'it'} first`,
      );
    return image;
  });
  store.remove(targets.map((t) => t.digest));
  for (const t of targets) process.stdout.write(removed(stateDir, t));
  return 0;
}

/**
 * After the image left the store: its unpacked root (process sandboxes, STATE/images/roots) goes
 * too. No sandbox uses it: rm and prune only reach images no inventory entry pins.
 */
function removed(stateDir: string, image: { ref: string | null; digest: string }): string {
  const root = removeUnpackedRoot(stateDir, image.digest);
  return `removed ${image.ref ?? '<none>'} ${image.digest}${root ? ' and its unpacked root' : ''}\n`;
}

function prune(opts: Opts, stateDir: string): number {
  const store = ImageStore.open(stateDir);
  const pinned = pinnedByInventory(stateDir);
  const doomed = store.list().filter((i) => (opts.all || i.ref === null) && usersOf(i, pinned).length === 0);
  store.remove(doomed.map((d) => d.digest));
  for (const d of doomed) process.stdout.write(removed(stateDir, d));
  process.stdout.write(`${doomed.length} image(s) removed\n`);
  return 0;
}

function dockerfile(dir: string, opts: Opts): number {
  const img = loadImageDefinition(dir);
  if (!img.def.dockerfile) throw new UserError(`${img.file}: no \`dockerfile\` section (its base image pinned by digest)`);
  const shown = relative(process.cwd(), img.dir) || '.';
  const text = renderDockerfile(img.def, shown);
  const path = join(img.dir, 'Dockerfile');
  if (opts.check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      /* missing: out of sync */
    }
    if (current !== text) throw new UserError(`${path} is out of sync with image.yaml; run nemoclaw image dockerfile ${shown}`);
    return 0;
  }
  writeFileAtomic(path, text);
  process.stdout.write(`wrote ${path}\n`);
  return 0;
}

export function register(cli: CAC): void {
  cli
    .command('image [action] [...args]', `Sandbox images built without a registry: ${ACTIONS}`)
    .option('--tag <name:tag>', 'build: reference to record (default: name:tag from image.yaml)')
    .option('--out <file>', 'build: also write the image as one tar (OCI layout + docker-archive manifest.json)')
    .option('--load', 'build: docker load the image')
    .option('--all', 'prune: every image no sandbox uses, not only untagged ones')
    .option('--check', 'dockerfile: fail if the committed Dockerfile differs instead of writing it')
    .option('--json', 'build, ls: JSON output')
    .option('--state-dir <dir>', 'State directory (the image store is <state>/images/oci/built)')
    .action(
      command(async (action: string | undefined, args: string[], opts: Opts) => {
        const stateDir = resolveStateDir(opts.stateDir);
        switch (action) {
          case 'build':
            if (args.length !== 1) throw new UserError('usage: nemoclaw image build <dir> [--tag name:tag] [--out FILE] [--load]', [], 2);
            return build(args[0]!, opts, stateDir);
          case 'ls':
            return list(opts, stateDir);
          case 'rm':
            return remove(args, stateDir);
          case 'prune':
            return prune(opts, stateDir);
          case 'dockerfile':
            if (args.length !== 1) throw new UserError('usage: nemoclaw image dockerfile <dir> [--check]', [], 2);
            return dockerfile(args[0]!, opts);
          default:
            throw new UserError(`usage: nemoclaw image ${ACTIONS}`, [], 2);
        }
      }),
    );
}
