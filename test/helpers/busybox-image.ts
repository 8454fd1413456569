// A tiny local Docker image for tests, built without any registry: Debian's static busybox as
// /bin/busybox (plus /bin/sh and a world-writable /tmp), imported with `docker import`, and
// optionally extra files (a test's own static program). Tagged by the digest of its files, so it
// is built once per busybox version (and extra files) and then reused.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTempDir } from './tmp.js';

const BUSYBOX = '/bin/busybox';
const REPO = 'nemoclaw-test/busybox';

export type Probe = { ok: true; image: string } | { ok: false; reason: string };

function run(cmd: string, args: string[], input?: Buffer) {
  const r = spawnSync(cmd, args, { input, encoding: 'buffer', timeout: 120_000 });
  return { status: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? r.error?.message ?? '') };
}

export function dockerReachable(): { ok: boolean; reason: string } {
  const r = run('docker', ['version', '--format', '{{.Server.Version}}']);
  return r.status === 0 ? { ok: true, reason: '' } : { ok: false, reason: `docker not reachable: ${r.stderr.trim() || 'no docker CLI'}` };
}

function busyboxIsStatic(): boolean {
  const r = run('dpkg-query', ['-W', '-f=${Status}', 'busybox-static']);
  return r.status === 0 && r.stdout.includes('install ok installed') && existsSync(BUSYBOX);
}

/**
 * Installs busybox-static when missing (we run as root here and in CI), builds the image once.
 * EXTRA: path inside the image (relative, e.g. `bin/prog`) → host file, copied in mode 0755.
 */
export function ensureBusyboxImage(extra: Record<string, string> = {}): Probe {
  const docker = dockerReachable();
  if (!docker.ok) return { ok: false, reason: docker.reason };
  if (!busyboxIsStatic()) {
    let r = run('apt-get', ['install', '-y', '-qq', 'busybox-static']);
    if (r.status !== 0) {
      run('apt-get', ['update', '-qq']); // a fresh machine may have no package lists yet
      r = run('apt-get', ['install', '-y', '-qq', 'busybox-static']);
    }
    if (r.status !== 0 || !busyboxIsStatic())
      return { ok: false, reason: `busybox-static not installed and apt-get failed: ${r.stderr.trim()}` };
  }
  const hash = createHash('sha256').update(readFileSync(BUSYBOX));
  for (const [path, file] of Object.entries(extra).sort()) hash.update(`\0${path}\0`).update(readFileSync(file));
  const digest = hash.digest('hex').slice(0, 16);
  const image = `${REPO}:${digest}`;
  if (run('docker', ['image', 'inspect', image]).status === 0) return { ok: true, image };

  const dir = makeTempDir('nemoclaw-busybox-');
  try {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'tmp'));
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    symlinkSync('busybox', join(root, 'bin', 'sh'));
    for (const [path, file] of Object.entries(extra)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      copyFileSync(file, join(root, path));
      chmodSync(join(root, path), 0o755);
    }
    const tar = run('tar', ['-C', root, '--owner=0', '--group=0', '-cf', join(dir, 'rootfs.tar'), '.']);
    if (tar.status !== 0) return { ok: false, reason: `tar failed: ${tar.stderr}` };
    const imp = run('docker', ['import', '-c', 'CMD ["/bin/sh"]', '-', image], readFileSync(join(dir, 'rootfs.tar')));
    if (imp.status !== 0) return { ok: false, reason: `docker import failed: ${imp.stderr}` };
    return { ok: true, image };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
