// The inputs of an image, fetched with the ordinary clients: Debian packages with `apt-get
// download` (verified by apt against the signed package lists) and npm packages with the host's
// npm (`npm pack` verifies the tarball's integrity; `npm ci` verifies every package against the
// committed package-lock.json). Downloads are kept in the cache directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.js';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new UserError(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new UserError(
      `${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`,
    );
  return r.stdout;
}

export function debArchitecture(): string {
  return run('dpkg', ['--print-architecture']).trim();
}

/** The cached .deb of name=version, if it was downloaded before. */
function cachedDeb(cacheDir: string, name: string, version: string, arch: string): string | undefined {
  // apt names the file name_version_arch.deb with the epoch's ':' written as %3a; arch may be "all".
  const stem = `${name}_${version.replace(/:/g, '%3a')}_`;
  const f = readdirSync(cacheDir).find((f) => f.startsWith(stem) && (f === `${stem}${arch}.deb` || f === `${stem}all.deb`));
  return f && join(cacheDir, f);
}

/**
 * `apt-get download name=version…` into `cacheDir`, one apt-get for all the missing ones (each
 * apt-get start reads the package lists: ~1 s); the .deb paths in the order given.
 */
export function fetchDebs(cacheDir: string, packages: [string, string][], arch: string): string[] {
  mkdirSync(cacheDir, { recursive: true });
  const missing = packages.filter(([n, v]) => !cachedDeb(cacheDir, n, v, arch));
  if (missing.length) {
    try {
      run('apt-get', ['download', '-q', ...missing.map(([n, v]) => `${n}=${v}`)], { cwd: cacheDir });
    } catch (e) {
      throw new UserError(
        `Debian packages could not be downloaded: ${(e as Error).message.split('\n').pop()}\n` +
          'check `apt-cache policy <package>`: run apt-get update, or pin the versions the apt sources have',
      );
    }
  }
  return packages.map(([n, v]) => {
    const deb = cachedDeb(cacheDir, n, v, arch);
    if (!deb) throw new UserError(`apt-get download ${n}=${v} left no .deb in ${cacheDir}`);
    return deb;
  });
}

export function unpackDeb(deb: string, into: string): void {
  run('dpkg-deb', ['-x', deb, into]);
}

/** The host's npm CLI script, so it can be run by another node binary (the image's runtime). */
export function npmCliPath(): string {
  const npm = run('sh', ['-c', 'command -v npm']).trim();
  const cli = join(dirname(realpathSync(npm)), 'npm-cli.js');
  if (!existsSync(cli)) throw new UserError(`cannot find npm-cli.js next to ${npm}`);
  return cli;
}

/** `npm pack name@version` into `cacheDir` (once), then bin/node out of it; the node binary's path. */
export function fetchNodeRuntime(cacheDir: string, pkg: string, version: string): string {
  const dir = join(cacheDir, `${pkg}-${version}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tgz = run('npm', ['pack', '--silent', `${pkg}@${version}`, '--pack-destination', tmp])
    .trim()
    .split('\n')
    .pop()!;
  run('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node', 'package/LICENSE']);
  rmSync(join(tmp, tgz));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return node;
}

/**
 * `npm ci --omit=dev --ignore-scripts` in `projectDir`, by `node` (the image's runtime, so npm
 * resolves engines and optional native packages for it, not for the host's Node). No package's
 * install scripts run: they are slow and would run unreviewed code on the build host.
 */
export function npmCi(node: string, projectDir: string, scripts: string[]): void {
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false' };
  const npm = npmCliPath();
  run(node, [npm, 'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: projectDir, env });
  // Then the install scripts of the named packages only, by the same runtime.
  if (scripts.length) run(node, [npm, 'rebuild', '--ignore-scripts=false', '--loglevel=error', ...scripts], { cwd: projectDir, env });
}
