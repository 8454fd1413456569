// A git source for the reconcile tests: a bare repository as the remote, a working clone that
// commits nemoclaw.yaml with its lock, and SSH keys made by ssh-keygen (one trusted through an
// allowed-signers file, one stranger). Real git throughout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../reconciler/harness.js';

export interface Repo {
  remote: string;
  work: string;
  allowedSigners: string;
  /** Write nemoclaw.yaml (and its lock), commit, push; returns the commit. */
  commit(yaml: string, o: { sign: 'trusted' | 'stranger' | null; message?: string }): Promise<string>;
  /** Point the remote's main at COMMIT (a force-push). */
  forcePush(commit: string): void;
  git(...args: string[]): string;
}

const git = (cwd: string, args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' },
  }).trim();

function keygen(dir: string, name: string): string {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', key]);
  return key;
}

export function makeRepo(dir: string): Repo {
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  const trusted = keygen(keys, 'trusted');
  const stranger = keygen(keys, 'stranger');
  const allowedSigners = join(keys, 'allowed_signers');
  const pub = readFileSync(`${trusted}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(allowedSigners, `trusted@test namespaces="git" ${pub}\n`);
  const remote = join(dir, 'remote.git');
  git(dir, ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  const work = join(dir, 'work');
  git(dir, ['init', '--quiet', '--initial-branch=main', work]);
  git(work, ['config', 'gpg.format', 'ssh']);
  return {
    remote,
    work,
    allowedSigners,
    async commit(yaml, o) {
      writeFileSync(join(work, 'nemoclaw.yaml'), yaml);
      const r = await cli(['compile', '-f', join(work, 'nemoclaw.yaml'), '--update-lock', '--out', join(dir, 'compiled')]);
      if (r.status !== 0) throw new Error(`compile failed: ${r.stderr}`);
      git(work, ['add', 'nemoclaw.yaml', 'nemoclaw.lock']);
      const sign = o.sign === null ? ['--no-gpg-sign'] : [`-c`, `user.signingkey=${o.sign === 'trusted' ? trusted : stranger}`];
      const args =
        o.sign === null ? ['commit', '--quiet', '--allow-empty', ...sign] : [...sign, 'commit', '--quiet', '--allow-empty', '-S'];
      git(work, [...args, '-m', o.message ?? 'change']);
      git(work, ['push', '--quiet', '--force', remote, 'HEAD:main']);
      return git(work, ['rev-parse', 'HEAD']);
    },
    forcePush(commit) {
      git(work, ['push', '--quiet', '--force', remote, `${commit}:refs/heads/main`]);
    },
    git: (...args) => git(work, args),
  };
}
