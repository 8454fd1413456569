// Real git repositories in temp directories for the review and signing tests.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.test',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.test',
    },
  }).trim();
}

export function newRepo(t: TestContext): string {
  const dir = tempDir(t, 'nemoclaw-review-');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'nemoclaw test');
  git(dir, 'config', 'user.email', 't@example.test');
  return dir;
}

/** Write nemoclaw.yaml, refresh its lock with the real CLI, commit both; returns the commit id. */
export function commitConfig(dir: string, yaml: string, message = 'config'): string {
  writeFileSync(join(dir, 'nemoclaw.yaml'), yaml);
  const r = runCli(['compile', '--update-lock', '--out', join(dir, '.out'), '-f', join(dir, 'nemoclaw.yaml')]);
  if (r.status !== 0) throw new Error(`compile --update-lock failed: ${r.stderr}`);
  git(dir, 'add', 'nemoclaw.yaml', 'nemoclaw.lock');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}
